from pathlib import Path

import pytest

from fitlake.errors import FitlakeError
from fitlake.local.fs import LocalFs


@pytest.fixture
def roots(tmp_path):
    return tmp_path / "dbfs", tmp_path / "Volumes"


@pytest.fixture
def fs(roots):
    return LocalFs(*roots)


# Path mapping


def test_dbfs_scheme_maps_under_dbfs_root(fs, roots):
    assert fs.to_local("dbfs:/a/b") == roots[0] / "a" / "b"


def test_bare_absolute_path_is_dbfs(fs, roots):
    assert fs.to_local("/a/b") == roots[0] / "a" / "b"


def test_volumes_path_maps_under_volumes_root(fs, roots):
    assert fs.to_local("/Volumes/c/s/v/f") == roots[1] / "c" / "s" / "v" / "f"


def test_dbfs_volumes_path_maps_under_volumes_root(fs, roots):
    assert fs.to_local("dbfs:/Volumes/c/s/v/f") == roots[1] / "c" / "s" / "v" / "f"


def test_file_scheme_is_local_file(fs):
    assert fs.to_local("file:/tmp/x") == Path("/tmp/x")


def test_relative_path_fails(fs):
    with pytest.raises(FitlakeError, match="relative"):
        fs.to_local("a/b")


# put and head


def test_put_writes_file_and_head_reads_it(fs, roots):
    fs.put("dbfs:/tmp/a.txt", "hello")
    assert (roots[0] / "tmp" / "a.txt").read_text() == "hello"
    assert fs.head("dbfs:/tmp/a.txt") == "hello"


def test_put_on_existing_file_without_overwrite_fails(fs):
    fs.put("/tmp/a.txt", "one")
    with pytest.raises(FitlakeError, match="overwrite"):
        fs.put("/tmp/a.txt", "two")
    assert fs.head("/tmp/a.txt") == "one"


def test_put_with_overwrite_replaces_file(fs):
    fs.put("/tmp/a.txt", "one")
    fs.put("/tmp/a.txt", "two", overwrite=True)
    assert fs.head("/tmp/a.txt") == "two"


def test_head_reads_at_most_max_bytes(fs):
    fs.put("/tmp/a.txt", "0123456789")
    assert fs.head("/tmp/a.txt", maxBytes=4) == "0123"


# ls


def test_ls_lists_files_and_directories(fs):
    fs.put("dbfs:/d/file.txt", "abc")
    fs.mkdirs("dbfs:/d/sub")
    by_name = {info.name: info for info in fs.ls("dbfs:/d")}
    assert set(by_name) == {"file.txt", "sub/"}
    assert by_name["file.txt"].path == "dbfs:/d/file.txt"
    assert by_name["sub/"].path == "dbfs:/d/sub/"


def test_ls_reports_sizes_and_kinds(fs):
    fs.put("/d/file.txt", "abc")
    fs.mkdirs("/d/sub")
    by_name = {info.name: info for info in fs.ls("/d")}
    assert (by_name["file.txt"].size, by_name["file.txt"].isFile(), by_name["file.txt"].isDir()) == (3, True, False)
    assert (by_name["sub/"].size, by_name["sub/"].isFile(), by_name["sub/"].isDir()) == (0, False, True)


def test_ls_paths_keep_callers_scheme(fs):
    fs.put("/Volumes/c/s/v/f.txt", "x")
    assert [i.path for i in fs.ls("/Volumes/c/s/v")] == ["/Volumes/c/s/v/f.txt"]
    assert [i.path for i in fs.ls("dbfs:/Volumes/c/s/v/")] == ["dbfs:/Volumes/c/s/v/f.txt"]


def test_ls_of_file_lists_the_file(fs):
    fs.put("dbfs:/d/file.txt", "abc")
    assert [(i.path, i.name, i.size) for i in fs.ls("dbfs:/d/file.txt")] == [("dbfs:/d/file.txt", "file.txt", 3)]


def test_ls_of_missing_path_fails(fs):
    with pytest.raises(FitlakeError, match="does not exist"):
        fs.ls("dbfs:/missing")


# mkdirs, cp, mv, rm


def test_mkdirs_creates_nested_directories(fs, roots):
    assert fs.mkdirs("dbfs:/a/b/c") is True
    assert (roots[0] / "a" / "b" / "c").is_dir()


def test_cp_copies_a_file(fs):
    fs.put("/src/a.txt", "abc")
    fs.cp("/src/a.txt", "/dst/b.txt")
    assert fs.head("/dst/b.txt") == "abc"
    assert fs.head("/src/a.txt") == "abc"


def test_cp_of_directory_without_recurse_fails(fs):
    fs.put("/src/a.txt", "abc")
    with pytest.raises(FitlakeError, match="recurse=True"):
        fs.cp("/src", "/dst")


def test_cp_of_directory_with_recurse_copies_tree(fs):
    fs.put("/src/sub/a.txt", "abc")
    fs.cp("/src", "/dst", recurse=True)
    assert fs.head("/dst/sub/a.txt") == "abc"


def test_mv_moves_a_file(fs):
    fs.put("/src/a.txt", "abc")
    fs.mv("/src/a.txt", "/dst/a.txt")
    assert fs.head("/dst/a.txt") == "abc"
    assert not fs.to_local("/src/a.txt").exists()


def test_rm_of_missing_path_returns_false(fs):
    assert fs.rm("/missing") is False


def test_rm_removes_a_file(fs):
    fs.put("/a.txt", "abc")
    assert fs.rm("/a.txt") is True
    assert not fs.to_local("/a.txt").exists()


def test_rm_of_non_empty_directory_without_recurse_fails(fs):
    fs.put("/d/a.txt", "abc")
    with pytest.raises(FitlakeError, match="recurse=True"):
        fs.rm("/d")
    assert fs.to_local("/d/a.txt").exists()


def test_rm_of_non_empty_directory_with_recurse_removes_it(fs):
    fs.put("/d/a.txt", "abc")
    assert fs.rm("/d", recurse=True) is True
    assert not fs.to_local("/d").exists()


def test_paths_that_climb_out_of_the_mapped_roots_are_refused(tmp_path):
    fs = LocalFs(tmp_path / "dbfs", tmp_path / "Volumes")
    with pytest.raises(FitlakeError, match=r"\.\."):
        fs.to_local("dbfs:/../../etc/passwd")
