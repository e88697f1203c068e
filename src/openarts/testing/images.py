"""Container images for tests, made from what these machines have (no registry on the
Internet is reachable): a Debian root file system from Debian's packages (debootstrap)
with Python 3 and ModelArts' user ``ma-user`` (uid 1000, gid 100, home
/home/ma-user), imported into the node's Podman storage. Made once per machine and kept:
later runs and other test processes find it there (a file lock keeps two from making it
at once)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

# Bump when what goes into the image changes.
BASE_IMAGE = "localhost/openarts-test/python:2"
# The same system without ma-user: an image that breaks ModelArts' rules.
NO_MA_USER_IMAGE = "localhost/openarts-test/no-ma-user:2"
NOTEBOOK_IMAGE = "localhost/openarts-test/jupyter:1"
MIRROR = "http://deb.debian.org/debian"
LOCK = Path(tempfile.gettempdir()) / "openarts-test-images.lock"
# What the tests need of the machine, and what installs it.
NEEDED = {"podman": "podman", "debootstrap": "debootstrap"}


def missing_tools(more: dict[str, str] | None = None) -> list[str]:
    """The Debian packages these images need that are not installed (and those of
    ``more``: a program's name and the package that installs it)."""
    needed = {**NEEDED, **(more or {})}
    return [package for tool, package in needed.items() if shutil.which(tool) is None]


def require_tools(more: dict[str, str] | None = None) -> None:
    """Skip the calling test module where the tools are missing; fail it instead where
    OPENARTS_REQUIRE_IMAGES=1 (CI installs them: a skip there would hide a gap)."""
    import pytest  # only tests call this

    missing = missing_tools(more)
    if missing and os.environ.get("OPENARTS_REQUIRE_IMAGES") == "1":
        pytest.fail(f"install Debian's {', '.join(missing)}", pytrace=False)
    if missing:
        pytest.skip(f"needs Debian's {', '.join(missing)}", allow_module_level=True)


def untag_registry(address: str) -> None:
    """Remove the tags pushes left in this machine's Podman for a registry at ``address``
    that is gone (its test server ended); the layers stay when another tag holds them."""
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    ours = []
    for line in listed:
        repository, _, rest = line.partition(" ")
        tag, _, digest = rest.partition(" ")
        if repository.startswith(f"{address}/"):
            # Pulled by digest (a model's pinned copy): named by it alone.
            ours.append(f"{repository}@{digest}" if tag == "<none>" else f"{repository}:{tag}")
    if ours:
        subprocess.run(["podman", "rmi", "--force", *ours], capture_output=True, check=False)


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
            _import(root, BASE_IMAGE)
        return BASE_IMAGE


def notebook_image() -> str:
    """The base image with JupyterLab in its system (``jupyter-lab`` on its PATH), as a
    notebook image must carry it: the distributions JupyterLab needs, copied from this
    Python's own (the same Python version as the image's; no index is asked)."""
    base = base_image()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _exists(NOTEBOOK_IMAGE):
            return NOTEBOOK_IMAGE
        with tempfile.TemporaryDirectory(prefix="openarts-notebook-image-") as folder:
            context = Path(folder)
            _copy_distributions(context / "tree", "jupyterlab")
            (context / "Containerfile").write_text(
                f"FROM {base}\nUSER root\nCOPY tree/ /\nUSER ma-user\n"
            )
            build(context, NOTEBOOK_IMAGE)
        return NOTEBOOK_IMAGE


def build(context: Path, tag: str) -> str:
    """The Containerfile in ``context`` built as ``tag`` from images this node holds
    (nothing pulled): ``tag``; AssertionError with Podman's words when it fails."""
    done = subprocess.run(
        ["podman", "build", "--pull=never", "-t", tag, str(context)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tag


def _copy_distributions(tree: Path, top: str) -> None:
    """``top`` and what it requires, from this environment into ``tree`` laid out as a
    Debian system's /usr/local (scripts run by the system's python3)."""
    prefix = Path(sys.prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    places = {
        f"lib/{version}/site-packages": f"usr/local/lib/{version}/dist-packages",
        "share": "usr/local/share",
        "etc": "usr/local/etc",
        "bin": "usr/local/bin",
    }
    seen: set[str] = set()
    wanted = [top]
    while wanted:
        name = wanted.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        found = metadata.distribution(name)
        for line in found.requires or []:
            required = Requirement(line)
            if required.marker is None or required.marker.evaluate({"extra": ""}):
                wanted.append(required.name)
        for file in found.files or []:
            source = Path(os.path.normpath(str(found.locate_file(file))))
            if not source.is_file() or "__pycache__" in source.parts:
                continue
            relative = source.relative_to(prefix).as_posix()
            for inside, outside in places.items():
                if relative.startswith(inside + "/"):
                    target = tree / outside / relative[len(inside) + 1 :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
                    if inside == "bin":
                        _system_shebang(target)
                    break


def _system_shebang(script: Path) -> None:
    """A console script of the environment's, run by the image's python3."""
    text = script.read_bytes()
    if text.startswith(b"#!"):
        rest = text.split(b"\n", 1)[1] if b"\n" in text else b""
        script.write_bytes(b"#!/usr/bin/python3\n" + rest)


def image_without_ma_user() -> str:
    """The base image's system with ma-user taken out of its /etc/passwd."""
    base = base_image()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _exists(NO_MA_USER_IMAGE):
            return NO_MA_USER_IMAGE
        mounted = subprocess.run(
            ["podman", "image", "mount", base], check=True, capture_output=True, text=True
        ).stdout.strip()
        with tempfile.TemporaryDirectory(prefix="openarts-rootfs-") as folder:
            root = Path(folder) / "root"
            subprocess.run(["cp", "-a", mounted, str(root)], check=True, timeout=300)
            passwd = root / "etc" / "passwd"
            kept = [line for line in passwd.read_text().splitlines() if ":1000:" not in line]
            passwd.write_text("\n".join(kept) + "\n")
            _import(root, NO_MA_USER_IMAGE, user="root")
        return NO_MA_USER_IMAGE


def _import(root: Path, ref: str, user: str = "ma-user") -> None:
    """A root file system as an image in the node's Podman storage."""
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
            f"USER {user}",
            "--change",
            "WORKDIR /home/ma-user",
            "-",
            ref,
        ],
        stdin=tar.stdout,
        check=True,
        capture_output=True,
        timeout=600,
    )
    tar.wait(timeout=60)


def _exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def _add_ma_user(root: Path) -> None:
    """ModelArts' custom-image user: ma-user, uid 1000, in group users (100)."""
    with (root / "etc" / "passwd").open("a") as passwd:
        passwd.write("ma-user:x:1000:100:ModelArts user:/home/ma-user:/bin/bash\n")
    home = root / "home" / "ma-user"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
