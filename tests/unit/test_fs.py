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


def test_file_scheme_is_local_file(fs, roots):
    assert fs.to_local(f"file:{roots[0]}/x") == roots[0] / "x"


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


# Confinement: nothing outside the roots, no deleting a root


@pytest.fixture
def confined(tmp_path):
    """An fs like the runtime's: the data root (holding dbfs/ and Volumes/) and a read-only sets folder."""
    data_root, sets = tmp_path / "data", tmp_path / "sets"
    for folder in (data_root / "dev" / "dbfs", data_root / "dev" / "Volumes", sets):
        folder.mkdir(parents=True)
    (sets / "a.csv").write_text("x")
    (tmp_path / "outside.txt").write_text("not yours")
    env = data_root / "dev"
    return LocalFs(env / "dbfs", env / "Volumes", roots=(data_root,), read_only_roots=(sets,)), tmp_path


@pytest.mark.parametrize("path", ["file:/etc/passwd", "file:/", "file:/tmp/../etc"])
def test_a_file_path_outside_the_data_root_is_refused(confined, path):
    fs, _ = confined
    with pytest.raises(FitlakeError, match="outside what dbutils.fs may"):
        fs.ls(path)
    with pytest.raises(FitlakeError, match="outside what dbutils.fs may"):
        fs.rm(path, recurse=True)


def test_a_file_path_under_the_data_root_is_allowed(confined):
    fs, tmp_path = confined
    fs.put(f"file:{tmp_path}/data/dev/dbfs/x.txt", "hi")
    assert fs.head("dbfs:/x.txt") == "hi"


def test_a_symlink_out_of_the_data_root_is_not_followed(confined):
    fs, tmp_path = confined
    fs.mkdirs("dbfs:/d")
    (tmp_path / "data" / "dev" / "dbfs" / "d" / "link").symlink_to(tmp_path)
    with pytest.raises(FitlakeError, match="symlinks resolved"):
        fs.head("dbfs:/d/link/outside.txt")
    with pytest.raises(FitlakeError, match="symlinks resolved"):
        fs.put("dbfs:/d/link/new.txt", "x")
    with pytest.raises(FitlakeError, match="symlinks resolved"):
        fs.rm("dbfs:/d/link/outside.txt")
    assert (tmp_path / "outside.txt").read_text() == "not yours"


def test_deleting_a_symlink_inside_the_root_removes_the_link_only(confined):
    fs, tmp_path = confined
    fs.put("dbfs:/target/keep.txt", "kept")
    (tmp_path / "data" / "dev" / "dbfs" / "link").symlink_to(tmp_path / "data" / "dev" / "dbfs" / "target")
    assert fs.rm("dbfs:/link", recurse=True) is True
    assert fs.head("dbfs:/target/keep.txt") == "kept"


def test_read_only_roots_are_sources_only(confined):
    fs, tmp_path = confined
    fs.cp(f"file:{tmp_path}/sets/a.csv", "dbfs:/landing/a.csv")
    assert fs.head("dbfs:/landing/a.csv") == "x"
    with pytest.raises(FitlakeError, match="may change"):
        fs.put(f"file:{tmp_path}/sets/b.csv", "y")
    with pytest.raises(FitlakeError, match="may change"):
        fs.mv(f"file:{tmp_path}/sets/a.csv", "dbfs:/landing/b.csv")


@pytest.mark.parametrize(
    "path",
    [
        *("dbfs:/", "/", "dbfs:/Volumes", "/Volumes/c", "/Volumes/c/s", "/Volumes/c/s/v"),
        *("file:{root}/data", "file:{root}/data/dev"),  # the data root, and an environment's folder in it
    ],
)
def test_a_root_cannot_be_deleted_or_moved(confined, path):
    fs, tmp_path = confined
    fs.put("/Volumes/c/s/v/f.txt", "x")
    fs.put("dbfs:/keep.txt", "x")
    path = path.format(root=tmp_path)
    with pytest.raises(FitlakeError, match="it is a root"):
        fs.rm(path, recurse=True)
    with pytest.raises(FitlakeError, match="it is a root"):
        fs.mv(path, "dbfs:/elsewhere", recurse=True)
    assert fs.head("dbfs:/keep.txt") == "x" and fs.head("/Volumes/c/s/v/f.txt") == "x"


def test_a_folder_inside_a_volume_can_be_deleted(confined):
    fs, _ = confined
    fs.put("/Volumes/c/s/v/dir/f.txt", "x")
    assert fs.rm("/Volumes/c/s/v/dir", recurse=True) is True


def test_by_default_the_fs_is_confined_to_its_dbfs_and_volume_roots(fs):
    fs.put("dbfs:/keep.txt", "x")
    with pytest.raises(FitlakeError, match="it is a root"):
        fs.rm("dbfs:/", recurse=True)
    with pytest.raises(FitlakeError, match="outside what dbutils.fs may"):
        fs.head("file:/etc/hostname")
    assert fs.head("dbfs:/keep.txt") == "x"
