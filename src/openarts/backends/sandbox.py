"""Every task in a sandbox, made by bubblewrap (``bwrap``: small, no daemon, the tool
Flatpak uses) over the host's own file system.

Inside, a task is ``ma-user`` (uid 1000, gid 100, as in ModelArts' images) with
namespaces of its own for users, mounts, processes, IPC, the host name and, unless it is
part of a gang, the network (loopback only). It sees the system's programs and
libraries read-only, a few files of ``/etc``, the Python environments it runs in
read-only, its own folders where ModelArts puts them, and a private ``/tmp`` and
``/cache``; nothing else of the host: not the server's home, the database, the keys or
another task's folders. bubblewrap always sets ``no_new_privs`` and gives the task no
capabilities.

When the server runs as root, a task's uid outside is its project's own
(``TaskView.uid``, unprivileged): the command runs as

    bwrap (as root: a mount namespace where the task's folders are staged under /tmp)
      setpriv (to the project's uid)
        bwrap (unprivileged: the user namespace that maps the uid to 1000, and the view)

The staging step is what lets an unprivileged uid bind folders under a home that only
root may enter (0700): the first bwrap binds them, as root, where the second can reach.
A gang's tasks share a network namespace made with ``ip netns`` (their rendezvous is
loopback). Every task's namespace has pasta (package ``passt``) attached, which
forwards one port of its loopback to the host's (the object-storage endpoint) and gives
it no address and no route: nothing else of the host or beyond. An environment build
(fetching packages) gets a namespace where pasta reaches out as the host does, with no
port forwarded: never the host's loopback (PostgreSQL, the API, a task). When the
server is an ordinary user, the same view is made by the second bwrap alone (started by
pasta) and the uid outside is the server's.
"""

from __future__ import annotations

import atexit
import configparser
import contextlib
import dataclasses
import io
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from openarts.domain.sandbox_view import (
    MA_GID,
    MA_HOME,
    MA_UID,
    MA_USER,
    SandboxReport,
    TaskView,
)
from openarts.hostinfo import gpu_minors

log = logging.getLogger(__name__)

# Where the privileged step stages folders for the unprivileged one (its own tmpfs).
STAGE = "/tmp"
# The few files of /etc a task needs (certificates, name resolution, the dynamic
# linker's cache, the package index it is configured for); never the whole /etc.
ETC_FILES = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
    "xdg/pip",
)
# What a system keeps its programs in: bound read-only, or linked as the host links them
# (a merged /usr has /bin -> usr/bin).
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt")
NVIDIA_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
# The .pth file a stacked environment lists its layers in (runtime/stacked_envs.py).
LAYERS_FILE = "_openarts_layers.pth"
_LAYERS = re.compile(r"site\.addsitedir, (\[.*\])\)\)")
NETNS_DIR = Path("/run/netns")
# Where each network's pasta writes its pid: pasta is meant to end when its namespace is
# deleted, and mostly does, but one that missed the deletion (seen when a namespace went
# while its pasta was starting) would stay for good; the platform ends it itself.
PASTA_PIDS = Path("/run/openarts-pasta")
# pasta forwarding no port either way (its default forwards every port bound on the
# host's loopback) and not mapping the gateway's address to the host's loopback.
PASTA_ARGS = (
    "--quiet",
    "--no-map-gw",
    "--tcp-ports",
    "none",
    "--udp-ports",
    "none",
    "--tcp-ns",
    "none",
    "--udp-ns",
    "none",
)
# The machine's package index as the machine and the server's user configure it, given
# to environment builds and tasks as their machine-wide pip configuration (their own
# ~/.config/pip/pip.conf, in a home that may be bound over it, still wins).
PIP_CONFIG = "/etc/pip.conf"
# How long pasta may take to give a namespace its route out.
EGRESS_READY_S = 10.0
# Networks that reach out, made ahead for the next tasks: pasta takes some 40 ms to ready
# one, which a task's start would otherwise wait for. Each holds a pasta (~30 MB).
SPARE_NETWORKS = 1
# A network this server made for one task: "e<server pid>-<n>" (found again after a
# restart by the pid: a dead server's are removed).
_OWN_NETWORK = re.compile(r"^openarts-e(\d+)-[0-9a-f]+-\d+$")
# Numbered per process, not per sandbox: two sandboxes of one process (tests) must never
# make the same name (the second would take the first's network as its own).
_NETWORK_NUMBERS = itertools.count()
_PROCESS_TOKEN = secrets.token_hex(3)
INSTALL_HINT = (
    "install bubblewrap, passt, util-linux and iproute2 (Debian: apt-get install "
    "bubblewrap passt util-linux iproute2) and allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1), or set OPENARTS_SANDBOX=off on a "
    "single-user machine"
)


class SandboxUnavailable(Exception):
    """The sandbox cannot be made here; the message says what is missing."""


@dataclasses.dataclass(frozen=True, slots=True)
class SandboxConfig:
    """What makes a sandbox: the server's, handed to the runners on Ray nodes, which make
    the same one there (pickled by Ray: plain values only)."""

    state_dir: Path
    # Folders never in a view (the server's home).
    hidden: tuple[Path, ...] = ()
    # Ports of the host's loopback a task reaches at the same port of its own.
    forward_ports: tuple[int, ...] = ()
    # Networks made ahead for the next tasks' starts.
    spare_networks: int = SPARE_NETWORKS
    # The boot id of the machine the server runs on (``machine_id``): a task's sandbox
    # reaches the endpoint, its gang's network and the platform's sockets only there.
    machine: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SandboxCommand:
    """The argv that starts a task in its sandbox, and the descriptors it reads files
    from (pass them to the child, then close them: ``close``)."""

    argv: list[str]
    fds: tuple[int, ...] = ()

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def machine_id() -> str:
    """This machine's boot id (the same for every process of it, until a reboot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text("ascii").strip()
    except OSError:
        return ""


class Sandbox:
    def __init__(
        self,
        state_dir: Path,
        hidden: Iterable[Path] = (),
        forward_ports: Iterable[int] = (),
        spare_networks: int = SPARE_NETWORKS,
    ) -> None:
        self.state_dir = state_dir
        self.spares_wanted = spare_networks
        # Ports of the host's loopback a task reaches at the same port of its own (the
        # platform's object-storage endpoint); nothing else there.
        self.forward_ports = tuple(sorted(set(forward_ports)))
        self.privileged = os.geteuid() == 0
        self.bwrap = shutil.which("bwrap") or ""
        self.setpriv = shutil.which("setpriv") or ""
        self.nsenter = shutil.which("nsenter") or ""
        self.ip = shutil.which("ip") or ""
        self.pasta = shutil.which("pasta") or ""
        self._spares: list[str] = []
        self._spares_lock = threading.Lock()
        self._refilling = False
        self._closed = False
        self._refilling_ever = False
        # Folders that must never be in a view (the server's home): a software folder
        # that holds one is refused rather than bound.
        self.hidden = [p.resolve() for p in hidden]
        # The server's own Python, checked once (it is not the users' to change); what a
        # task's command adds is checked at each start.
        self._server_software = _outermost(_server_software())
        self._system = _system_args()
        # The few files of /etc a task sees: copied in at each start when they are
        # plain files anyone may read (as the task could read them through a bind),
        # bound when they are folders; what else is there is left out.
        self._etc_files, self._etc_folders = _etc_entries()
        # The root step's view: the system with /etc whole (fewer mounts to make at
        # each start than the task's few files of it), never the whole root; and the
        # folders its binds sit in, made open to all (bubblewrap makes them with the
        # server's umask, which may close them to the task's uid).
        self._outer = _system_args(whole_etc=True)
        self._outer_folders = _folders_for(self._outer)
        # The system's folders are bound whole: the home must not be in one.
        self._never_the_home(_bound_system_folders())
        self._never_the_home(self._server_software)
        # Which /dev/nvidia<minor> each GPU index is (read once: devices do not move).
        self._gpu_minors = gpu_minors()
        # Set by probe(): what the banner, the console and /health say.
        self.report = SandboxReport(False, "not checked yet")

    @classmethod
    def open(cls, config: SandboxConfig) -> Sandbox:
        """The sandbox ``config`` describes, checked to work (SandboxUnavailable)."""
        sandbox = cls(config.state_dir, config.hidden, config.forward_ports, config.spare_networks)
        sandbox.probe()
        return sandbox

    def config(self, machine: str = "") -> SandboxConfig:
        return SandboxConfig(
            self.state_dir,
            tuple(self.hidden),
            self.forward_ports,
            self.spares_wanted,
            machine,
        )

    # -- checking ------------------------------------------------------------------------
    def probe(self) -> SandboxReport:
        """Make a sandbox once and run a command in it; SandboxUnavailable if it fails."""
        missing = [
            name
            for name, path in (
                ("bwrap", self.bwrap),
                ("pasta", self.pasta),
                *(
                    (("setpriv", self.setpriv), ("nsenter", self.nsenter), ("ip", self.ip))
                    if self.privileged
                    else ()
                ),
            )
            if not path
        ]
        if missing:
            raise SandboxUnavailable(f"{', '.join(missing)} not found: {INSTALL_HINT}")
        self.write_identity_files()
        if self.privileged:
            self.remove_orphan_networks()
            # pasta is checked too, now rather than at the first task's start.
            checked = self.new_network_name()
            try:
                self.ensure_network(checked, egress=True, fresh=True)
            finally:
                self.release_network(checked)
        view = TaskView(uid=os.geteuid() if not self.privileged else 2**31 - 2, hostname="probe")
        checking = self.command(view, ["/bin/sh", "-c", 'test "$(id -u)" = 1000'], MA_HOME, ())
        try:
            done = subprocess.run(
                checking.argv,
                capture_output=True,
                timeout=30,
                env={"PATH": "/usr/bin:/bin"},
                pass_fds=checking.fds,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap could not run: {error}; {INSTALL_HINT}") from None
        finally:
            checking.close()
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise SandboxUnavailable(f"a test sandbox failed ({said}): {INSTALL_HINT}")
        who = (
            "a uid of its project's own outside (the server runs as root)"
            if self.privileged
            else "the server's uid outside (user namespaces; the server is not root)"
        )
        self.report = SandboxReport(
            True,
            f"bubblewrap: each task runs as {MA_USER} (uid {MA_UID}) inside and {who}, "
            "with its own mounts, processes, IPC, host name and network; only its own "
            "folders writable; no new privileges",
        )
        return self.report

    def write_identity_files(self) -> None:
        """/etc/passwd and /etc/group as a task sees them: ma-user and little else.
        Written whole and only when changed: on Ray, every node's runner writes them
        while other tasks bind them."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o711)
        files = {
            "passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{MA_USER}:x:{MA_UID}:{MA_GID}::{MA_HOME}:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "group": f"root:x:0:\nusers:x:{MA_GID}:{MA_USER}\nnogroup:x:65534:\n",
            "pip.conf": _task_pip_config(),
        }
        for name, text in files.items():
            path = self.state_dir / name
            try:
                if path.read_text("utf-8") == text and path.stat().st_mode & 0o777 == 0o644:
                    continue
            except (OSError, UnicodeDecodeError):
                pass
            fresh = path.with_name(f".{name}.{os.getpid()}")
            fresh.write_text(text, "utf-8")
            fresh.chmod(0o644)
            fresh.replace(path)

    # -- a task's folders --------------------------------------------------------------
    def prepare(self, view: TaskView, private: Path) -> None:
        """Make the task's private folders (its /tmp and /cache) under ``private`` and,
        as root, hand its writable folders to its uid."""
        for name in ("tmp", "cache"):
            (private / name).mkdir(parents=True, exist_ok=True)
        if view.network:
            # Refused when the server is not root.
            self.ensure_network(view.network, egress=view.egress, internet=view.internet)
        if not self.privileged:
            return
        writable = [Path(m.source) for m in view.mounts if m.writable]
        for folder in (*writable, private / "tmp", private / "cache"):
            _hand_over(folder, view.uid)

    # -- work in a task's folders ------------------------------------------------------
    def run_as(self, view: TaskView, argv: list[str], timeout_s: float = 600) -> None:
        """Run ``argv`` in ``view`` as the task's own user: how the platform changes the
        folders a task can write (a notebook's work folder, its environment). Done as
        root, a symbolic link the task left there would aim the change at the host."""
        # Platform work needs no network: loopback only.
        view = dataclasses.replace(view, network="", egress=False, internet=False)
        command = self.command(view, argv, MA_HOME, ())
        try:
            done = subprocess.run(
                command.argv,
                capture_output=True,
                timeout=timeout_s,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                pass_fds=command.fds,
            )
        finally:
            command.close()
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip()[-500:]
            raise SandboxUnavailable(f"{argv[0]} in the task's sandbox failed: {said}")

    # -- gangs' networks ---------------------------------------------------------------
    def ensure_network(
        self, name: str, *, egress: bool = False, internet: bool = False, fresh: bool = False
    ) -> None:
        """Make the network namespace ``name`` unless it exists (a gang's members share
        one); ``fresh``: it must not exist yet (a task's or a build's own)."""
        if not self.privileged:
            raise SandboxUnavailable(
                "a gang's tasks share a network namespace, which needs the server to run as "
                "root here; run one node per job, or the server as root"
            )
        path = NETNS_DIR / _netns_name(name)
        if path.exists() and not fresh:
            return  # made by another member of the gang (with its pasta, if it has one)
        done = subprocess.run([self.ip, "netns", "add", path.name], capture_output=True, timeout=10)
        if done.returncode != 0:
            if path.exists() and not fresh:
                return  # another member made it meanwhile
            raise SandboxUnavailable(
                f"ip netns add {path.name} failed: {done.stderr.decode('utf-8', 'replace').strip()}"
            )
        steps = [[self.ip, "-n", path.name, "link", "set", "lo", "up"]]
        if egress:
            # pasta returns once the namespace is ready, and stays behind as a daemon; it
            # ends when the namespace is deleted. It runs as root here (this release
            # drops to nobody before it joins a namespace, and then cannot), with only
            # the capabilities it needs and confined (its own empty mount namespace,
            # seccomp).
            PASTA_PIDS.mkdir(mode=0o700, exist_ok=True)
            steps.append(
                [
                    self.pasta,
                    "--runas",
                    "0:0",
                    *self._pasta_args(internet),
                    "--pid",
                    str(PASTA_PIDS / f"{path.name}.pid"),
                    "--netns",
                    str(path),
                ]
            )
        try:
            for argv in steps:
                done = subprocess.run(argv, capture_output=True, timeout=EGRESS_READY_S)
                if done.returncode != 0:
                    raise SandboxUnavailable(
                        f"{Path(argv[0]).name} could not ready the network {name}: "
                        f"{done.stderr.decode('utf-8', 'replace').strip()}"
                    )
        except BaseException as error:
            subprocess.run([self.ip, "netns", "delete", path.name], capture_output=True, timeout=10)
            if isinstance(error, subprocess.SubprocessError):
                raise SandboxUnavailable(f"the network {name} was not ready: {error}") from None
            raise

    def _pasta_args(self, internet: bool) -> list[str]:
        args = list(PASTA_ARGS)
        if internet:
            # Addresses, routes and name resolution like the host's: out to anywhere but
            # the host's loopback, with no port of it forwarded.
            return [*args, "--config-net"]
        if self.forward_ports:
            # No address and no route: only the forwarded ports, on its own loopback.
            at = args.index("--tcp-ns") + 1
            args[at] = ",".join(str(port) for port in self.forward_ports)
        return args

    def take_network(self) -> str:
        """A network namespace served by pasta (the forwarded ports only), for one task
        (root only): a spare made ahead, or one made now when none is left. Released,
        like a gang's, once no process is in it."""
        with self._spares_lock:
            name = self._spares.pop() if self._spares else ""
        if not name:
            name = self.new_network_name()
            self.ensure_network(name, egress=True, fresh=True)
        self._refill()
        return name

    def make_spares(self) -> None:
        """Start making the spare networks now (in the background), before any task."""
        self._refill()

    def no_more_spares(self) -> None:
        """Make no spare after those made or being made (a runner's one task takes its
        network next)."""
        with self._spares_lock:
            self.spares_wanted = 0

    @property
    def spare_networks(self) -> tuple[str, ...]:
        with self._spares_lock:
            return tuple(self._spares)

    def close(self) -> None:
        """Remove the spare networks (their pastas end with them); none is made after."""
        with self._spares_lock:
            self._closed = True
            spares, self._spares = self._spares, []
        for name in spares:
            self.release_network(name)

    @staticmethod
    def new_network_name() -> str:
        """A name no other network has: this server's pid (a dead server's are removed
        at the next start), a token of this process's (pids are reused), a number."""
        return f"e{os.getpid()}-{_PROCESS_TOKEN}-{next(_NETWORK_NUMBERS)}"

    def _refill(self) -> None:
        with self._spares_lock:
            if self._closed or self._refilling or len(self._spares) >= self.spares_wanted:
                return
            if not self._refilling_ever:
                # A process that ends without closing its backend leaves no spare behind.
                atexit.register(self.close)
                self._refilling_ever = True
            self._refilling = True
        threading.Thread(target=self._make_spares, name="spare-networks", daemon=True).start()

    def _make_spares(self) -> None:
        try:
            while True:
                with self._spares_lock:
                    if self._closed or len(self._spares) >= self.spares_wanted:
                        return
                name = self.new_network_name()
                self.ensure_network(name, egress=True, fresh=True)
                with self._spares_lock:
                    closed = self._closed
                    if not closed:
                        self._spares.append(name)
                if closed:
                    self.release_network(name)
                    return
        except (SandboxUnavailable, OSError, subprocess.SubprocessError) as error:
            # The next task makes its own, and says why if it cannot.
            log.warning("no spare network made for the next task: %s", error)
        finally:
            with self._spares_lock:
                self._refilling = False

    @staticmethod
    def release_own_networks() -> None:
        """Remove the networks this process made, or a process that is gone made, and
        no process is in any more (its sandboxes' spares, a killed runner's): for a
        process that ends without closing its backends (xdist's workers, say)."""
        ip = shutil.which("ip") or ""
        if os.geteuid() != 0 or not ip:
            return
        prefix = f"openarts-e{os.getpid()}-{_PROCESS_TOKEN}-"
        for name in _network_names():
            if name.startswith(prefix) or _orphan(name):
                _delete_if_empty(ip, name)

    def remove_orphan_networks(self) -> None:
        """Networks a process that is gone made (a server, or a runner on Ray ended
        before it could remove the one it made ahead): removed when no process is in
        them (a task it started may still be running)."""
        if not self.privileged:
            return
        for name in _network_names():
            if _orphan(name):
                _delete_if_empty(self.ip, name)

    def release_network(self, name: str, wait_s: float = 0.0) -> None:
        """Remove a network once no process is in it (a gang's last member has ended; a
        member still starting would find it gone), waiting up to ``wait_s`` for the
        processes of work just killed to be gone."""
        if not name or not self.privileged:
            return
        path = NETNS_DIR / _netns_name(name)
        if path.exists():
            _delete_if_empty(self.ip, path.name, wait_s)

    @staticmethod
    def release_task_network(name: str, wait_s: float = 0.0) -> None:
        """``release_network`` for a process with no sandbox at hand: the tests' reaper,
        which ends a stopped server's tasks (a gang's network is named after its first
        task) where a server would have left them for its next start to adopt."""
        ip = shutil.which("ip") or ""
        path = NETNS_DIR / _netns_name(name)
        if os.geteuid() == 0 and ip and path.exists():
            _delete_if_empty(ip, path.name, wait_s)

    # -- the command ---------------------------------------------------------------------
    def command(
        self,
        view: TaskView,
        command: list[str],
        workdir: str,
        gpu_ids: Iterable[int],
        private: Path | None = None,
        env_fd: int | None = None,
        root: Path | None = None,
    ) -> SandboxCommand:
        """What runs ``command`` in ``view``, in ``workdir`` (a path inside).

        The task's variables come from ``env_fd`` (``env_arguments``), read by the last
        bwrap only: the processes before it run as root (or as the server), and a
        variable such as LD_PRELOAD must never reach them. The files of /etc a task
        sees, and its passwd, group and pip configuration, are written into its view
        from descriptors (``--file``: no mount each, which is most of what a start
        costs bubblewrap); the command holds them."""
        fds: list[int] = []
        try:
            argv = self._argv(view, command, workdir, gpu_ids, private, env_fd, fds, root)
        except BaseException:
            SandboxCommand([], tuple(fds)).close()
            raise
        return SandboxCommand(argv, tuple(fds))

    def _argv(
        self,
        view: TaskView,
        command: list[str],
        workdir: str,
        gpu_ids: Iterable[int],
        private: Path | None,
        env_fd: int | None,
        fds: list[int],
        root: Path | None = None,
    ) -> list[str]:
        staged: list[tuple[str, bool]] = []

        def copied(source: Path, target: str) -> list[str]:
            """A copy of ``source`` at ``target``, from a descriptor; bound instead when it
            is no longer a plain file anyone may read (a copy must show no more than a
            bind would)."""
            fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
            mode = os.fstat(fd).st_mode
            if not (stat.S_ISREG(mode) and mode & stat.S_IROTH):
                os.close(fd)
                return ["--ro-bind", str(source), target]
            fds.append(fd)
            return ["--perms", "0444", "--file", str(fd), target]

        def reach(source: str, writable: bool) -> str:
            """Where the unprivileged bwrap finds ``source``: staged, as root, when the
            server is root (its ancestors may be closed to the task's uid)."""
            if not self.privileged:
                return source
            staged.append((source, writable))
            return f"{STAGE}/{len(staged) - 1}"

        inner = [self.bwrap]
        if env_fd is not None:
            inner += ["--args", str(env_fd)]
        inner += [
            "--unshare-user",
            # No user namespace of its own inside: no root there to widen its reach.
            "--disable-userns",
            "--uid",
            str(MA_UID),
            "--gid",
            str(MA_GID),
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            view.hostname[:63],
        ]
        if view.egress and self.privileged and not view.network:
            raise SandboxUnavailable("a task that reaches out needs a network name here")
        if view.egress and view.network and not self.privileged:
            raise SandboxUnavailable("a task shares a gang's network or reaches out, not both")
        if not view.network and not view.egress:
            inner.append("--unshare-net")  # loopback only
        elif view.network and not self.privileged:
            # Never the host's network instead: a gang's shared one needs root here.
            raise SandboxUnavailable(
                "a gang's tasks share a network namespace, which needs the server to run as "
                "root here; run one node per job, or the server as root"
            )
        if root is not None:
            # An image's task: the image's system (its /etc with its users, ma-user among
            # them) in place of the host's, read-only.
            inner += _image_system_args(root, reach(str(root), False))
        else:
            inner += self._system
            # /etc: a file system of its own, filled, then made read-only (the copies
            # are the task's uid's, which could otherwise change them).
            inner += ["--perms", "0755", "--tmpfs", "/etc"]
            for path in self._etc_files:
                try:
                    inner += copied(path, str(path))
                except OSError:
                    continue  # gone since the start: as if it were not there
            for path in self._etc_folders:
                inner += ["--ro-bind", str(path), str(path)]
            inner += copied(self.state_dir / "passwd", "/etc/passwd")
            inner += copied(self.state_dir / "group", "/etc/group")
            inner += copied(self.state_dir / "pip.conf", PIP_CONFIG)
            inner += ["--remount-ro", "/etc"]
        inner += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm"]
        minors = self._gpu_minors
        for index in sorted(set(gpu_ids)):
            inner += _device(f"nvidia{minors.get(index, index)}")
        if gpu_ids:
            for name in NVIDIA_DEVICES:
                inner += _device(name)
        if private is not None:
            inner += ["--bind", reach(str(private / "tmp"), True), "/tmp"]
            inner += ["--bind", reach(str(private / "cache"), True), "/cache"]
        else:
            inner += ["--tmpfs", "/tmp"]
        inner += ["--dir", MA_HOME]
        # An image brings its own software; the host's is never in its view.
        for folder in self._software(view, command) if root is None else ():
            inner += ["--ro-bind", reach(folder, False), folder]
        for mount in sorted(view.mounts, key=lambda m: m.target.count("/")):
            verb = "--bind" if mount.writable else "--ro-bind"
            inner += [verb, reach(mount.source, mount.writable), mount.target]
        inner += ["--chdir", workdir, "--new-session", "--die-with-parent", "--", *command]
        if not self.privileged:
            if view.egress:
                # pasta makes the user and network namespaces the sandbox starts in, and
                # stays in the foreground, the task's parent.
                args = self._pasta_args(view.internet)
                return [self.pasta, "--foreground", *args, "--", *inner]
            return inner
        # Only what the next steps need, never the whole root: a copy of / would copy
        # every network namespace's mount under /run/netns, and one deleted meanwhile
        # (a task that ended) makes bubblewrap fail.
        # The host's /proc, bound: the kernel lets the unprivileged step mount a /proc of
        # its own only where a full one is already in view (a fresh one is not enough).
        outer = [self.bwrap, *self._outer_folders, "--dev-bind", "/dev", "/dev"]
        outer += ["--dev-bind", "/proc", "/proc", *self._outer, "--tmpfs", STAGE]
        for index, (source, writable) in enumerate(staged):
            outer += ["--bind" if writable else "--ro-bind", source, f"{STAGE}/{index}"]
        outer += [
            "--",
            self.setpriv,
            f"--reuid={view.uid}",
            f"--regid={view.uid}",
            "--clear-groups",
            "--",
            *inner,
        ]
        if view.network:
            outer = [self.nsenter, f"--net={NETNS_DIR / _netns_name(view.network)}", "--", *outer]
        return outer

    def _software(self, view: TaskView, command: list[str]) -> list[str]:
        """The Python environments a task runs from: the server's, the command's
        interpreter's, and those of the interpreters the view names (a shell command
        that runs an engine's python)."""
        folders: list[str] = []
        for program in (*command[:1], *view.software):
            folders += environment_folders(Path(program))
        chosen = _outermost(folders, trusted=self._server_software)
        self._never_the_home(f for f in chosen if f not in self._server_software)
        return chosen

    def _never_the_home(self, folders: Iterable[str]) -> None:
        for folder in folders:
            resolved = Path(folder).resolve()
            for hidden in self.hidden:
                if resolved == hidden or hidden.is_relative_to(resolved):
                    raise SandboxUnavailable(
                        f"{folder}, which tasks see, holds the server's home {hidden}; "
                        "move the home (OPENARTS_HOME) out of it"
                    )


# Of an image's root, what a task never sees from the image: made fresh by the sandbox
# (/proc, /dev, /tmp), the kernel's (/sys), or a place the task's own folders go (/home
# is a file system of the task's own, its home bound there).
_IMAGE_FRESH = frozenset({"proc", "dev", "sys", "tmp", "run", "home"})


def _image_system_args(root: Path, reached: str) -> list[str]:
    """An image's root file system as a task's system: each of its top-level entries
    bound read-only (or made the same link) onto the sandbox's own root, so the folders
    the sandbox adds (the home, /tmp, /cache) need nothing of the image's."""
    args: list[str] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name in _IMAGE_FRESH:
            continue
        target = f"/{entry.name}"
        if entry.is_symlink():
            args += ["--symlink", os.readlink(entry.path), target]
        else:
            args += ["--ro-bind", f"{reached}/{entry.name}", target]
    return [*args, "--tmpfs", "/home", "--dir", "/run"]


def env_arguments(env: Mapping[str, str]) -> bytes:
    """bwrap's arguments that give the task exactly ``env`` (with ModelArts' user's own
    defaults beneath it), NUL-separated for ``--args``: never on a command line."""
    values = {
        "HOME": MA_HOME,
        "USER": MA_USER,
        "LOGNAME": MA_USER,
        "TMPDIR": "/tmp",
        **env,
    }
    parts = ["--clearenv"]
    for name, value in values.items():
        parts += ["--setenv", name, value]
    return b"".join(os.fsencode(part) + b"\0" for part in parts)


def environment_folders(interpreter: Path) -> list[str]:
    """The folders a Python environment runs from: its own (a virtual environment's
    prefix) and the layers a stacked one lists."""
    prefix = interpreter.parent.parent
    if not (prefix / "pyvenv.cfg").is_file():
        return []
    folders = [str(prefix)]
    # Only this Python's own site-packages (rewritten by the platform at each start; a
    # user may write elsewhere in their environment).
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    pth = prefix / "lib" / version / "site-packages" / LAYERS_FILE
    if pth.is_file() and not pth.is_symlink():
        match = _LAYERS.search(_read_no_follow(pth))
        if match:
            folders += [str(p) for p in json.loads(match.group(1))]
    home = _pyvenv_home(prefix)
    if home is not None:
        folders.append(str(home.parent))
    return folders


def _pyvenv_home(prefix: Path) -> Path | None:
    try:
        text = _read_no_follow(prefix / "pyvenv.cfg")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return Path(value.strip())
    return None


def _read_no_follow(path: Path) -> str:
    """A file's text, refused (OSError) when it is a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(1 << 20).decode("utf-8", "replace")


def _task_pip_config() -> str:
    """The machine's /etc/pip.conf (when anyone may read it, as a bind would show it) and
    the server's user's own pip configuration files (the legacy one, then the XDG one;
    the later wins), as one file. Read when the server starts."""
    home = Path.home()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    machine = Path(PIP_CONFIG)
    try:
        public = machine.is_file() and bool(machine.stat().st_mode & stat.S_IROTH)
    except OSError:
        public = False
    files = [machine] if public else []
    merged = configparser.RawConfigParser()
    try:
        merged.read([*files, home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"], "utf-8")
    except configparser.Error as error:
        log.warning("the pip configuration is not given to tasks: %s", error)
        return ""
    out = io.StringIO()
    merged.write(out)
    return out.getvalue()


def _server_software() -> list[str]:
    """The server's own Python: the interpreter's installation, the virtual
    environment, and what else is on its path (an editable install's sources); never the
    path's first entry, the folder the server was started from (a user's home, say)."""
    folders = [sys.base_prefix, sys.prefix]
    folders += [p for p in sys.path[1:] if p and os.path.isdir(p)]
    return [f for f in folders if not _is_system(f)]


def _bound_system_folders() -> list[str]:
    folders = [str(Path("/") / name) for name in SYSTEM_DIRS]
    folders += [str(Path("/etc") / name) for name in ETC_FILES]
    return [f for f in folders if os.path.isdir(f) and not os.path.islink(f)]


def _is_system(folder: str) -> bool:
    top = Path(folder).resolve().parts[1:2]
    return bool(top) and top[0] in SYSTEM_DIRS


def _outermost(folders: Iterable[str], trusted: Iterable[str] = ()) -> list[str]:
    """Each folder once, none inside another (bound once, with what it holds); those of
    ``trusted`` are known to be folders outside the system's."""
    known = set(trusted)
    kept: list[str] = []
    for folder in sorted({os.path.normpath(f) for f in folders if f} | known, key=len):
        if folder not in known and (_is_system(folder) or not os.path.isdir(folder)):
            continue
        if not any(Path(folder).is_relative_to(k) for k in kept):
            kept.append(folder)
    return kept


def _system_args(whole_etc: bool = False) -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    if whole_etc:
        args += ["--ro-bind", "/etc", "/etc"]
    # Of /sys only what libraries read to size themselves (CPUs, NUMA nodes), not the
    # host's devices, network interfaces or cgroups.
    for name in ("/sys/devices/system/cpu", "/sys/devices/system/node"):
        args += ["--ro-bind-try", name, name]
    return args


def _etc_entries() -> tuple[list[Path], list[Path]]:
    """ETC_FILES as they are here: (plain files anyone may read, to copy; folders and
    the rest, to bind)."""
    files, folders = [], []
    for name in ETC_FILES:
        path = Path("/etc") / name
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and mode & stat.S_IROTH:
            files.append(path)
        else:
            folders.append(path)
    return files, folders


def _folders_for(args: list[str]) -> list[str]:
    """bubblewrap's arguments that make, open to all (0755), the folders leading to each
    place ``args`` bind or link something."""
    places = [
        args[i + 2] for i, arg in enumerate(args) if arg.startswith(("--ro-bind", "--symlink"))
    ]
    folders = sorted({str(parent) for place in places for parent in Path(place).parents} - {"/"})
    made: list[str] = []
    for folder in sorted(folders, key=lambda f: f.count("/")):
        made += ["--perms", "0755", "--dir", folder]
    return made


def _device(name: str) -> list[str]:
    path = f"/dev/{name}"
    return ["--dev-bind", path, path] if os.path.exists(path) else []


def _network_names() -> list[str]:
    try:
        return [entry.name for entry in NETNS_DIR.iterdir()]
    except OSError:
        return []


def _orphan(name: str) -> bool:
    """A network made for one task or as a spare by a process that has ended."""
    match = _OWN_NETWORK.match(name)
    return match is not None and not os.path.exists(f"/proc/{match.group(1)}")


def _delete_if_empty(ip: str, name: str, wait_s: float = 0.0) -> None:
    """Delete the network namespace ``name`` (its pasta, if any, ends with it) unless a
    process is in it after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        inside = subprocess.run([ip, "netns", "pids", name], capture_output=True, timeout=10)
        if inside.returncode != 0:
            return  # gone already
        if not inside.stdout.strip():
            break
        if time.monotonic() >= deadline:
            return
        time.sleep(0.05)
    subprocess.run([ip, "netns", "delete", name], capture_output=True, timeout=10)
    _end_pasta(name)


def _end_pasta(name: str) -> None:
    """End the pasta of the deleted namespace ``name``, if it is still there (its pid
    file names it; its command line must name the namespace: pids are reused)."""
    pid_file = PASTA_PIDS / f"{name}.pid"
    try:
        pid = int(pid_file.read_text("ascii").strip())
        pid_file.unlink()
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
    except (OSError, ValueError):
        return
    if str(NETNS_DIR / name).encode() in argv:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _netns_name(network: str) -> str:
    return f"openarts-{network}"[:60]


def _hand_over(folder: Path, uid: int) -> None:
    """Make ``folder`` and what it holds the task's uid's (skipped when it already is:
    a notebook's work folder may be large)."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.stat().st_uid == uid:
        return
    for parent, dirs, files in os.walk(folder):
        os.lchown(parent, uid, uid)
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), uid, uid)
    folder.chmod(0o700)
