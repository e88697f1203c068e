"""``mox.file`` over local paths, and the errors it gives where there is no store."""

from __future__ import annotations

from pathlib import Path

import pytest

from openarts.compat.moxing import file as mox_file


def test_local_files_and_folders(tmp_path: Path) -> None:
    source = tmp_path / "src"
    mox_file.write(str(source / "a.txt"), "alpha")
    mox_file.write(str(source / "deep" / "b.bin"), b"\x00\x01", binary=True)
    assert mox_file.list_directory(str(source)) == ["a.txt", "deep"]
    assert mox_file.list_directory(str(source), recursive=True) == ["a.txt", "deep/b.bin"]
    mox_file.copy_parallel(str(source), str(tmp_path / "dst"))
    assert mox_file.read(str(tmp_path / "dst" / "deep" / "b.bin"), binary=True) == b"\x00\x01"
    assert mox_file.get_size(str(source), recursive=True) == 7
    assert mox_file.stat(str(source)).is_dir and mox_file.stat(str(source / "a.txt")).length == 5
    with mox_file.File(str(source / "c.txt"), "w") as handle:
        handle.write("written")
    mox_file.append(str(source / "c.txt"), " more")
    assert mox_file.read(str(source / "c.txt")) == "written more"
    assert mox_file.glob(str(source / "*.txt")) == [str(source / "a.txt"), str(source / "c.txt")]
    with pytest.raises(IsADirectoryError):
        mox_file.remove(str(source))
    mox_file.remove(str(source), recursive=True)
    assert not mox_file.exists(str(source))


def test_obs_paths_without_a_store_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "OBS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    mox_file.set_auth()  # forget any client made before
    with pytest.raises(OSError, match="no object-storage endpoint"):
        mox_file.exists("obs://bucket/key")
    with pytest.raises(ValueError, match="no bucket"):
        mox_file.read("obs:///key")


def test_shift_routes_only_obs_paths_and_is_undone(tmp_path: Path) -> None:
    import builtins
    import os

    original = builtins.open
    mox_file.shift("os", "mox")
    try:
        assert builtins.open is not original
        (tmp_path / "x").write_text("local")
        with open(tmp_path / "x") as handle:
            assert handle.read() == "local"
        assert os.path.exists(str(tmp_path / "x"))
    finally:
        mox_file.shift("mox", "os")
    assert builtins.open is original
    with pytest.raises(ValueError):
        mox_file.shift("os", "elsewhere")
