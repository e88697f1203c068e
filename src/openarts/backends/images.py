"""Container images on a node, kept by Podman: what is there, pulls, and the root file
system of one to run a task over.

A task of an image runs in the same sandbox as every task (backends/sandbox.py: its
uid, mounts, network and processes), with the image's root file system as its system in
place of the host's: Podman keeps the layers (pulled once per node, shared by the
images that have them) and mounts an image read-only; the sandbox does the rest. So an
image's task has exactly the isolation, folders, variables and gang networking of a
preset engine's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from openarts.domain.images import is_image_reference
from openarts.domain.registry import WHOLE_REFERENCE, is_swr_host, split_reference
from openarts.domain.sandbox_view import MA_UID

# How long a pull may take before it fails (a large image over a slow link).
PULL_TIMEOUT_S = 1800.0
# Podman's own commands that only read or mount its storage.
QUICK_TIMEOUT_S = 60.0


class ImageError(Exception):
    """An image that cannot be used, with the reason (a pull's answer, a missing image)."""


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What an image says of how it runs (its OCI config)."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImagesReport:
    enabled: bool
    summary: str


NO_IMAGES = ImagesReport(False, "this backend runs no container images yet")


@dataclass(frozen=True, slots=True)
class RegistryLogin:
    """The platform's registry as this node pulls from it: its address (host:port), the
    auth file Podman reads the node's credentials from (never a command line), and
    whether it speaks TLS."""

    address: str
    auth_file: Path | None  # None: the registry lets anyone pull
    tls_verify: bool = True


class ImageStore:
    """The node's images, through the ``podman`` command (rootful: the server's)."""

    def __init__(self, podman: str | None = None, registry: RegistryLogin | None = None) -> None:
        self.podman = podman if podman is not None else shutil.which("podman") or ""
        self.registry = registry
        # Per reference, its mount and config, read once: each podman call costs ~30 ms
        # at a start. A pull through ensure() forgets them (a tag may move).
        self._mounted: dict[str, Path] = {}
        self._configs: dict[str, ImageConfig] = {}
        self._lock = threading.Lock()

    def probe(self) -> ImagesReport:
        """Whether images can be run here, and what with (for the banner and /health)."""
        if not self.podman:
            return ImagesReport(
                False, "no podman: container images are not run (apt-get install podman)"
            )
        try:
            version = self._run("version", "--format", "{{.Client.Version}}").strip()
            self._run("images", "--quiet")
        except ImageError as error:
            return ImagesReport(False, f"podman does not work here: {error}")
        return ImagesReport(
            True,
            f"podman {version}: images are pulled and kept by Podman, their tasks run in "
            "the sandbox over the image's root file system",
        )

    def resolve(self, ref: str) -> str:
        """The reference Podman is given: an SWR host (``swr.<region>.myhuaweicloud.com``,
        as ModelArts code writes images) stands for the platform's registry."""
        host, rest = split_reference(ref)
        if self.registry is not None and is_swr_host(host):
            return f"{self.registry.address}/{rest}"
        return ref

    def exists(self, ref: str) -> bool:
        ref = self.resolve(ref)
        _check(ref)
        mounted = self._mounted.get(ref)
        if mounted is not None and mounted.is_dir():
            return True
        done = self._complete("image", "exists", ref, timeout_s=QUICK_TIMEOUT_S)
        return done.returncode == 0

    def ensure(self, ref: str) -> None:
        """``ref`` on this node: pulled when it is not (ImageError with the registry's
        answer when the pull fails). An image of the platform's registry is pulled every
        time: a tag pushed again must run as pushed, and a pull of an image the node
        holds already only compares its manifest."""
        ref = self.resolve(ref)
        if not self._login_for(ref) and self.exists(ref):
            return
        options = self._login_for(ref) or ("--quiet",)
        self._run("pull", *options, ref, timeout_s=PULL_TIMEOUT_S)
        with self._lock:
            self._mounted.pop(ref, None)
            self._configs.pop(ref, None)

    def _login_for(self, ref: str) -> tuple[str, ...]:
        registry = self.registry
        if registry is None or split_reference(ref)[0] != registry.address:
            return ()
        tls = () if registry.tls_verify else ("--tls-verify=false",)
        auth = ("--authfile", str(registry.auth_file)) if registry.auth_file else ()
        # Never empty for the registry's images (ensure() tells them by it).
        return ("--quiet", *auth, *tls)

    def config(self, ref: str) -> ImageConfig:
        ref = self.resolve(ref)
        known = self._configs.get(ref)
        if known is None:
            known = self._configs[ref] = self._read_config(ref)
        return known

    def _read_config(self, ref: str) -> ImageConfig:
        _check(ref)
        raw = json.loads(self._run("image", "inspect", "--format", "{{json .Config}}", ref))
        raw = raw or {}
        env: dict[str, str] = {}
        for item in raw.get("Env") or []:
            name, _, value = str(item).partition("=")
            env[name] = value
        return ImageConfig(
            env=env,
            workdir=str(raw.get("WorkingDir") or ""),
            user=str(raw.get("User") or ""),
            entrypoint=tuple(str(a) for a in raw.get("Entrypoint") or ()),
            cmd=tuple(str(a) for a in raw.get("Cmd") or ()),
        )

    def root(self, ref: str) -> Path:
        """The image's root file system, mounted read-only by Podman (once per image;
        the mount stays while the server runs, shared by the image's tasks)."""
        ref = self.resolve(ref)
        _check(ref)
        with self._lock:
            known = self._mounted.get(ref)
            if known is not None and known.is_dir():
                return known
            path = Path(self._run("image", "mount", ref).strip())
            if not path.is_dir():
                raise ImageError(f"podman mounted {ref} at {path}, which is not a folder")
            self._mounted[ref] = path
            return path

    def check_rules(self, ref: str) -> None:
        """ModelArts' rule for custom images that tasks here rely on: the user ma-user,
        uid 1000, in the image's /etc/passwd (tasks run as uid 1000; without the entry
        getpwuid, pip and shells fail). ImageError saying what is missing."""
        passwd = self.root(ref) / "etc" / "passwd"
        try:
            lines = passwd.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        users = {
            fields[2]: fields[0]
            for fields in (line.split(":") for line in lines)
            if len(fields) > 2
        }
        if users.get(str(MA_UID)) is None:
            raise ImageError(
                f"breaks ModelArts' rules for custom images: no user with uid {MA_UID} "
                "(ma-user) in its /etc/passwd; add one (useradd -u 1000 -g 100 -m ma-user)"
            )

    def _complete(self, *args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.podman, *args],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ImageError(f"podman {args[0]} took more than {timeout_s:.0f} s") from None
        except OSError as error:
            raise ImageError(f"podman could not be run: {error}") from None

    def _run(self, *args: str, timeout_s: float = QUICK_TIMEOUT_S) -> str:
        done = self._complete(*args, timeout_s=timeout_s)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise ImageError(said[-1] if said else f"podman {args[0]} exited {done.returncode}")
        return done.stdout


def _check(ref: str) -> None:
    """A reference reaches Podman as an argument: never one it would take as an option,
    and always with its registry host. Podman matches a short name (``team/x:1``) or an
    ID against every image the node holds, whoever pulled it: a project could run
    another's image from the node's cache."""
    if not is_image_reference(ref):
        raise ImageError(f"{ref!r} is not an image reference")
    if not split_reference(ref)[0]:
        raise ImageError(f"{ref!r} names no registry host: {WHOLE_REFERENCE}")
