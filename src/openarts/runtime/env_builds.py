"""Environment builds: the commands that make a Python environment (``venv``, then
``pip install`` of what an engine or a model asks for).

Installing a package runs its code (an sdist's ``setup.py``, a build backend), and a
model's dependencies are its owner's choice: with the sandbox on, each command runs in
one of its own, as the build uid (``BUILD_UID``) with only the environment's folder
writable, a private /tmp, and a network that reaches the package index but nothing on
the host's loopback. Once made, the environment is handed back to the server's user,
so no later build, and no task, can change what others run on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
from pathlib import Path

from openarts.backends.sandbox import Sandbox, SandboxUnavailable, env_arguments
from openarts.domain.sandbox_view import BUILD_UID, Mount, TaskView

# Keeps a pip that hangs (no index reachable, say) from holding a job in Creating forever.
BUILD_TIMEOUT_S = 1800.0
LOG_TAIL_CHARS = 2000
# What the processes before the sandbox get (root's side): nothing a build asked for.
ROOT_SIDE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# The server's variables a build is given: how pip reaches the machine's index.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
# A build's inputs (what to install, and the pins that hold it), in the folder it makes;
# removed once it is made.
BUILD_INPUTS = ".openarts-build"
REQUIREMENTS_FILE = "requirements.txt"
CONSTRAINTS_FILE = "constraints.txt"


class EngineBuildError(Exception):
    """An environment could not be made; the message says why."""


class EnvironmentBuilder:
    def __init__(self, sandbox: Sandbox | None, scratch: Path) -> None:
        self.sandbox = sandbox
        # Builds' private /tmp and /cache, one folder each, removed after.
        self.scratch = scratch

    async def run(self, argv: list[str], folder: Path, log_path: Path) -> None:
        """Run ``argv`` (which writes ``folder`` only), its output appended to
        ``log_path``; EngineBuildError with the log's tail if it fails."""
        if self.sandbox is None:
            await _run_logged(argv, argv, log_path, None, ())
            return
        sandbox = self.sandbox
        view = TaskView(
            uid=BUILD_UID if sandbox.privileged else os.geteuid(),
            hostname="openarts-build",
            mounts=(Mount(str(folder), str(folder), writable=True),),
            # Root gives it a network namespace of its own, with pasta attached.
            network=sandbox.new_network_name() if sandbox.privileged else "",
            egress=True,
            internet=True,
        )
        private = self.scratch / f"{folder.name}.{os.getpid()}"
        read_end, write_end = os.pipe()
        try:
            try:
                # A few variables: far below what a pipe holds, so this never blocks.
                os.write(write_end, env_arguments(build_env()))
            finally:
                os.close(write_end)
            try:
                await asyncio.to_thread(sandbox.prepare, view, private)
                command = sandbox.command(view, argv, str(folder), (), private, read_end)
            except (SandboxUnavailable, OSError) as error:
                raise EngineBuildError(f"the build's sandbox could not be made: {error}") from None
            try:
                await _run_logged(
                    argv, command.argv, log_path, {"PATH": ROOT_SIDE_PATH}, (read_end, *command.fds)
                )
            finally:
                command.close()
        finally:
            os.close(read_end)
            await asyncio.to_thread(shutil.rmtree, private, True)
            # Its processes are being killed when it timed out: given a moment to go.
            await asyncio.to_thread(sandbox.release_network, view.network, 5.0)

    async def seal(self, folder: Path) -> None:
        """Hand a finished environment back to the server's user, writable by no one
        else (the build uid made it, and builds of other models run as that uid too)."""
        if self.sandbox is not None and self.sandbox.privileged:
            await asyncio.to_thread(_seal, folder)


def pip_install(python: str | Path, *args: str) -> list[str]:
    """The command that pip-installs ``args`` into ``python``'s environment, asking
    nothing."""
    return [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", *args]


def held_install(python: str | Path, inputs: Path) -> list[str]:
    """The command that installs the requirements ``write_build_inputs`` wrote, held to
    its constraints."""
    return pip_install(
        python,
        *("-r", str(inputs / REQUIREMENTS_FILE)),
        *("-c", str(inputs / CONSTRAINTS_FILE)),
    )


def write_build_inputs(target: Path, requirements: str, pins: list[str]) -> Path:
    """Write a build's requirements and the pins that hold them (``name==version`` of
    what lies beneath) into its folder inside ``target`` (the only folder of the host
    the build sees beside the system and the layers); that folder."""
    folder = target / BUILD_INPUTS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REQUIREMENTS_FILE).write_text(requirements, "utf-8")
    (folder / CONSTRAINTS_FILE).write_text("\n".join(pins) + "\n", "utf-8")
    for path in (folder, folder / REQUIREMENTS_FILE, folder / CONSTRAINTS_FILE):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def build_env() -> dict[str, str]:
    """A build's variables: a plain PATH, and pip's and the proxies' settings as the
    server has them (the machine's package index); nothing else of the server's."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    for name, value in os.environ.items():
        if name.startswith("PIP_") or name.lower() in PROXY_VARIABLES:
            env[name] = value
    return env


def _seal(folder: Path) -> None:
    """Owned by the server's user; readable (and, where it is a program, runnable) by
    every task, writable by none: folders 0755, files 0755 or 0644, no setuid, no FIFO
    or socket."""
    uid, gid = os.geteuid(), os.getegid()
    for parent, dirs, files in os.walk(folder):
        for path in (parent, *(os.path.join(parent, name) for name in (*dirs, *files))):
            mode = os.lstat(path).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                os.unlink(path)  # a FIFO or a socket: nothing a Python environment needs
                continue
            os.lchown(path, uid, gid)
            if stat.S_ISDIR(mode) or (stat.S_ISREG(mode) and mode & stat.S_IXUSR):
                os.chmod(path, 0o755)
            elif stat.S_ISREG(mode):
                os.chmod(path, 0o644)


async def _run_logged(
    argv: list[str],
    command: list[str],
    log_path: Path,
    env: dict[str, str] | None,
    fds: tuple[int, ...],
) -> None:
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            pass_fds=fds,
            # Its own group: a timeout ends the sandbox's helpers with it.
            start_new_session=True,
        )
        try:
            code = await asyncio.wait_for(process.wait(), BUILD_TIMEOUT_S)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise EngineBuildError(
                f"{argv[2] if len(argv) > 2 else argv[0]} took over {BUILD_TIMEOUT_S:.0f} s"
            ) from None
    if code != 0:
        text = await asyncio.to_thread(log_path.read_text, "utf-8", "replace")
        tail = text[-LOG_TAIL_CHARS:]
        raise EngineBuildError(f"{' '.join(argv[1:4])} failed with exit code {code}: {tail}")
