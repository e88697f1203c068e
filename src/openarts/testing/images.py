"""Container images for tests, made from what these machines have (no registry on the
Internet is reachable): a Debian root file system from Debian's packages (debootstrap)
with Python 3 and ModelArts' user ``ma-user`` (uid 1000, gid 100, home
/home/ma-user), imported into the node's Podman storage. Made once per machine and kept:
later runs and other test processes find it there (a file lock keeps two from making it
at once)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path

# Bump when what goes into the image changes.
BASE_IMAGE = "localhost/openarts-test/python:2"
MIRROR = "http://deb.debian.org/debian"
LOCK = Path(tempfile.gettempdir()) / "openarts-test-images.lock"
# What the tests need of the machine, and what installs it.
NEEDED = {"podman": "podman", "debootstrap": "debootstrap"}


def missing_tools() -> list[str]:
    """The Debian packages these images need that are not installed."""
    return [package for tool, package in NEEDED.items() if shutil.which(tool) is None]


def base_image() -> str:
    """The reference of the test base image, made if this machine does not have it."""
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _exists(BASE_IMAGE):
            return BASE_IMAGE
        with tempfile.TemporaryDirectory(prefix="openarts-rootfs-") as folder:
            root = Path(folder) / "root"
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=python3",
                    "bookworm",
                    str(root),
                    MIRROR,
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            _add_ma_user(root)
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(
                [
                    "podman",
                    "import",
                    "--change",
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--change",
                    "ENV LANG=C.UTF-8",
                    "--change",
                    "USER ma-user",
                    "--change",
                    "WORKDIR /home/ma-user",
                    "-",
                    BASE_IMAGE,
                ],
                stdin=tar.stdout,
                check=True,
                capture_output=True,
                timeout=600,
            )
            tar.wait(timeout=60)
        return BASE_IMAGE


def _exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def _add_ma_user(root: Path) -> None:
    """ModelArts' custom-image user: ma-user, uid 1000, in group users (100)."""
    with (root / "etc" / "passwd").open("a") as passwd:
        passwd.write("ma-user:x:1000:100:ModelArts user:/home/ma-user:/bin/bash\n")
    home = root / "home" / "ma-user"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
