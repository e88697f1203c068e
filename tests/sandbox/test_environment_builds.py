"""Environment builds run a package's code (an sdist's setup.py) chosen by a model's
owner: in the sandbox they run as the build uid, see only the environment they make,
reach nothing on the host's loopback, and what they made is handed back to the server."""

from __future__ import annotations

import os
import socket
import sys
import zipfile
from pathlib import Path

import pytest

from openarts.backends.sandbox import LAYERS_FILE, Sandbox, environment_folders
from openarts.domain.sandbox_view import BUILD_UID
from openarts.runtime.env_builds import EngineBuildError, EnvironmentBuilder
from openarts.runtime.stacked_envs import settle_environment, site_packages

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the build uid needs root")

# What a hostile setup.py would try, each attempt printed with what came of it.
ATTACK = """
import os, socket, sys
home, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print("uid", os.getuid(), flush=True)
def attempt(what, action):
    try:
        action()
        print("REACHED", what, flush=True)
    except OSError as error:
        print("refused", what, type(error).__name__, flush=True)
attempt("the home's key", lambda: open(os.path.join(home, "secret.key")).read())
attempt("a write into the home", lambda: open(os.path.join(home, "planted"), "w").close())
attempt("the host's loopback", lambda: socket.create_connection(("127.0.0.1", port), 2).close())
with open(os.path.join(folder, "made-by-the-build"), "w") as out:
    out.write("mine")
"""


@pytest.fixture
def builder(tmp_path: Path) -> EnvironmentBuilder:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "secret.key").write_text("the server's key")
    sandbox = Sandbox(home / "tasks" / ".sandbox", hidden=[home])
    sandbox.probe()
    return EnvironmentBuilder(sandbox, home / "tasks" / ".builds")


async def test_a_build_sees_only_the_environment_it_makes(
    builder: EnvironmentBuilder, tmp_path: Path
) -> None:
    folder = tmp_path / "envs" / "env-1"
    folder.mkdir(parents=True)
    log = tmp_path / "envs" / "env-1.log"
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        argv = [sys.executable, "-c", ATTACK, str(tmp_path / "home"), str(port), str(folder)]
        await builder.run(argv, folder, log)
    finally:
        listener.close()
    said = log.read_text()
    print(said)
    assert "uid 1000" in said, said
    assert "REACHED" not in said, said
    assert said.count("refused") == 3, said
    assert not (tmp_path / "home" / "planted").exists()
    made = folder / "made-by-the-build"
    assert made.stat().st_uid == BUILD_UID
    await builder.seal(folder)
    for path, mode in ((folder, 0o755), (made, 0o644)):
        status = path.stat()
        assert (status.st_uid, status.st_mode & 0o7777) == (os.geteuid(), mode), path
    # Its private /tmp is gone with it.
    assert not any((tmp_path / "home" / "tasks" / ".builds").iterdir())


async def test_pip_installs_into_a_new_environment_in_the_sandbox(
    builder: EnvironmentBuilder, tmp_path: Path
) -> None:
    folder = tmp_path / "envs" / "made"
    folder.mkdir(parents=True)
    log = tmp_path / "envs" / "made.log"
    base = Path(sys.base_prefix) / "bin" / "python3"
    await builder.run([str(base), "-m", "venv", str(folder)], folder, log)
    wheel = folder / "wheels" / "tinypkg-1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    _tiny_wheel(wheel)
    python = str(folder / "bin" / "python")
    install = [python, "-m", "pip", "install", "--no-index", "--find-links", str(wheel.parent)]
    await builder.run([*install, "tinypkg"], folder, log)
    await builder.seal(folder)
    await builder.run([python, "-c", "import tinypkg; print(tinypkg.ANSWER)"], folder, log)
    assert log.read_text().rstrip().endswith("42"), log.read_text()[-2000:]


async def test_a_failed_build_says_why(builder: EnvironmentBuilder, tmp_path: Path) -> None:
    folder = tmp_path / "envs" / "broken"
    folder.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; print('no such package'); sys.exit(3)"]
    with pytest.raises(EngineBuildError, match="exit code 3: no such package"):
        await builder.run(argv, folder, tmp_path / "envs" / "broken.log")


def _tiny_wheel(path: Path) -> None:
    info = "tinypkg-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tinypkg.py", "ANSWER = 42\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")


def test_what_a_build_wrote_of_an_environments_description_is_the_platforms_again(
    tmp_path: Path,
) -> None:
    # A package could ship a layers file naming any folder of the host, or a build could
    # rewrite pyvenv.cfg: tasks using the environment would then see those folders.
    prefix = tmp_path / "env"
    own = site_packages(prefix)
    own.mkdir(parents=True)
    (own / LAYERS_FILE).write_text('import site; list(map(site.addsitedir, ["/etc"]))\n')
    (prefix / "pyvenv.cfg").write_text("home = /root/secrets/bin\n")
    python = Path(sys.base_prefix) / "bin" / "python3"
    settle_environment(prefix, python)
    seen = environment_folders(prefix / "bin" / "python")
    assert "/etc" not in seen and "/root/secrets" not in seen
    assert seen == [str(prefix), str(python.resolve().parent.parent)]
