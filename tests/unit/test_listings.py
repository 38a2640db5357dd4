"""Folders of this machine's disk (``file:`` paths) are listed with Python's own calls, not one call into the JVM
per file: the listings must say exactly what Hadoop's local file system says of the same folder, since they are
compared with what Spark recorded (a file source's log, a flow's last inputs)."""

from __future__ import annotations

import os

from fitlake.streaming import list_files, list_folders, listing_digest, write_small_file


def test_a_local_listing_says_what_hadoops_says(spark, tmp_path):
    folder = tmp_path / "landing" / "kafka_multiplex"
    (folder / "part").mkdir(parents=True)
    (folder / "set1-part-00000.json").write_text("{}\n")
    (folder / ".set2-part-00000.json.incoming").write_text("{}\n{}\n")  # a producer's file on its way in
    (folder / "part" / "nested.json").write_text("{}\n{}\n{}\n")
    write_small_file(spark, str(folder / "by-hadoop.json"), "{}\n")  # Hadoop adds its hidden .crc beside it
    assert (folder / ".by-hadoop.json.crc").exists()
    os.utime(folder / "set1-part-00000.json", ns=(1_796_000_000_123_456_789, 1_796_000_000_123_456_789))

    for path in (folder, folder / "part", tmp_path / "missing"):
        assert list_files(spark, f"file:{path}") == list_files(spark, str(path)), path
        assert list_folders(spark, f"file:{path}") == list_folders(spark, str(path)), path
        assert listing_digest(spark, f"file:{path}") == listing_digest(spark, str(path)), path
    names = [name for name, _, _ in list_files(spark, f"file:{folder}")]
    assert names == [".set2-part-00000.json.incoming", "by-hadoop.json", "set1-part-00000.json"]
    assert ("set1-part-00000.json", 3, 1_796_000_000_123) in list_files(spark, f"file:{folder}")
    assert list_folders(spark, f"file:{folder}") == ["part"]
    assert list_files(spark, f"file:{tmp_path / 'missing'}") == []
    before = listing_digest(spark, f"file:{folder}")
    (folder / "part" / "nested.json").write_text("{}\n")
    assert listing_digest(spark, f"file:{folder}") != before
