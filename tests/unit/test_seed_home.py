"""A new notebook instance's home is made from its image's /home/ma-user, once, and
never over anything the user already has there."""

from __future__ import annotations

import os
from pathlib import Path

from openarts.runtime.notebook_runtime import _seed_from


def _image_home(tmp_path: Path) -> Path:
    source = tmp_path / "image" / "home" / "ma-user"
    (source / "anaconda3" / "bin").mkdir(parents=True)
    (source / "anaconda3" / "bin" / "python").write_text("#!/bin/sh\n")
    (source / ".bashrc").write_text("export X=1\n")
    (source / ".profile").symlink_to("/etc/profile")
    (source / "work").mkdir()
    (source / "work" / "from-image.txt").write_text("not the instance's")
    return source


def _instance(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    (folder / "home" / "work").mkdir(parents=True)
    return folder


def test_a_new_home_is_made_from_the_images(tmp_path: Path) -> None:
    source, folder = _image_home(tmp_path), _instance(tmp_path)
    assert _seed_from(source, folder, os.getuid())
    home = folder / "home"
    assert (home / "anaconda3" / "bin" / "python").read_text() == "#!/bin/sh\n"
    assert (home / ".bashrc").exists()
    # A link is copied as a link, never followed; the work folder is the instance's own.
    assert os.readlink(home / ".profile") == "/etc/profile"
    assert list((home / "work").iterdir()) == []
    assert not (folder / "seeding").exists()


def test_a_home_with_anything_in_it_is_left_as_it_is(tmp_path: Path) -> None:
    source, folder = _image_home(tmp_path), _instance(tmp_path)
    (folder / "home" / "notes.txt").write_text("mine")
    assert not _seed_from(source, folder, os.getuid())
    assert sorted(p.name for p in (folder / "home").iterdir()) == ["notes.txt", "work"]
    other = tmp_path / "other"
    (other / "home").mkdir(parents=True)
    (other / "home" / "work").symlink_to("/etc")
    assert not _seed_from(source, other, os.getuid())
    (other / "home" / "work").unlink()
    (other / "home" / "work").mkdir()
    (other / "home" / "work" / "x").write_text("kept")
    assert not _seed_from(source, other, os.getuid())
