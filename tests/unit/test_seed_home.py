"""A new notebook instance's home is made from its image's /home/ma-user, once, and
never over anything the user already has there."""

from __future__ import annotations

import os
from pathlib import Path

from openarts.runtime.notebook_runtime import _seed_from


def _image(tmp_path: Path) -> Path:
    """An image's root file system, with software in its /home/ma-user."""
    root = tmp_path / "image"
    source = root / "home" / "ma-user"
    (source / "anaconda3" / "bin").mkdir(parents=True)
    (source / "anaconda3" / "bin" / "python").write_text("#!/bin/sh\n")
    (source / ".bashrc").write_text("export X=1\n")
    (source / ".profile").symlink_to("/etc/profile")
    (source / "work").mkdir()
    (source / "work" / "from-image.txt").write_text("not the instance's")
    os.mkfifo(source / "a-pipe")
    return root


def _instance(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    (folder / "home" / "work").mkdir(parents=True)
    return folder


def test_a_new_home_is_made_from_the_images(tmp_path: Path) -> None:
    root, folder = _image(tmp_path), _instance(tmp_path)
    # The instance's own uid (a project's, far from root's) where the test may give one.
    uid = 2_000_042 if os.geteuid() == 0 else os.getuid()
    assert _seed_from(root, folder, uid)
    home = folder / "home"
    assert (home / ".bashrc").stat().st_uid == uid
    assert (home / "anaconda3" / "bin").stat().st_uid == uid
    assert os.lstat(home / ".profile").st_uid == uid
    assert (home / "anaconda3" / "bin" / "python").read_text() == "#!/bin/sh\n"
    assert (home / ".bashrc").exists()
    # A link is copied as a link, never followed; the work folder is the instance's own.
    assert os.readlink(home / ".profile") == "/etc/profile"
    assert list((home / "work").iterdir()) == []
    assert not (folder / "seeding").exists()
    # Only regular files are read: a pipe (or a device) an image holds is left out.
    assert not (home / "a-pipe").exists()


def test_an_image_whose_home_is_a_link_gives_nothing(tmp_path: Path) -> None:
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the host's")
    for link in (secret.parent, "../../host"):
        root = tmp_path / f"image-{len(str(link))}"
        (root / "home").mkdir(parents=True)
        (root / "home" / "ma-user").symlink_to(link)
        folder = tmp_path / f"instance-{len(str(link))}"
        (folder / "home" / "work").mkdir(parents=True)
        assert _seed_from(root, folder, os.getuid())
        assert sorted(p.name for p in (folder / "home").iterdir()) == ["work"]
    # Nor a /home that is a link.
    root = tmp_path / "image-home-link"
    root.mkdir()
    (root / "home").symlink_to(tmp_path / "host")
    folder = tmp_path / "instance-home-link"
    (folder / "home" / "work").mkdir(parents=True)
    assert _seed_from(root, folder, os.getuid())
    assert sorted(p.name for p in (folder / "home").iterdir()) == ["work"]


def test_a_home_with_anything_in_it_is_left_as_it_is(tmp_path: Path) -> None:
    root, folder = _image(tmp_path), _instance(tmp_path)
    (folder / "home" / "notes.txt").write_text("mine")
    assert not _seed_from(root, folder, os.getuid())
    assert sorted(p.name for p in (folder / "home").iterdir()) == ["notes.txt", "work"]
    other = tmp_path / "other"
    (other / "home").mkdir(parents=True)
    (other / "home" / "work").symlink_to("/etc")
    assert not _seed_from(root, other, os.getuid())
    (other / "home" / "work").unlink()
    (other / "home" / "work").mkdir()
    (other / "home" / "work" / "x").write_text("kept")
    assert not _seed_from(root, other, os.getuid())
