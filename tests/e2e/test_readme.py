"""The README's examples, run as written, in order, against a real server started the way
a newcomer's `make run` starts it (its home in ``~/.openarts``, ``HOME`` being a folder of
the test's own): every ``sh`` block command by command in bash, every ``python`` block in
one namespace (as in one interpreter session), so none can go stale.

The runner knows two things a reader supplies by hand: the ports (8080 to 8083 are
the test server's free ones) and the ``<placeholders>``, each filled at the moment its
command runs with what the reader would look up then (the newest job, model, service...);
a placeholder it does not know fails the test. Only ``SKIPPED`` blocks are not run, each
with its reason."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openarts.testing.images import untag_registry
from openarts.testing.server import ServerProcess
from tests.e2e.readme_lookup import NAMES

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_PORTS = (8080, 8081, 8082, 8083)
# Blocks not run, by their first line, and why.
SKIPPED = {
    "make run     # creates .venv, installs the server, starts it on http://127.0.0.1:8080": (
        "the test starts that server itself, as `make run` does (`openarts server`), and "
        "runs `make test` (this suite) no deeper than itself"
    ),
}
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z-]*)>")
BLOCK_TIMEOUT_S = 900


@dataclass
class Block:
    language: str
    text: str
    line: int

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0]


def readme_blocks() -> list[Block]:
    text = README.read_text()
    return [
        Block(found[1], found[2], text.count("\n", 0, found.start()) + 1)
        for found in BLOCK.finditer(text)
    ]


def with_ports(text: str, server: ServerProcess) -> str:
    for default, port in zip(
        DEFAULT_PORTS,
        (server.port, server.obs_port, server.console_port, server.registry_port),
        strict=True,
    ):
        text = re.sub(rf"(127\.0\.0\.1|localhost):{default}\b", rf"\g<1>:{port}", text)
    return text


def with_lookups(text: str) -> str:
    """Each ``<placeholder>`` outside comments becomes a lookup that runs when its command
    does (a command may use what the one before it made)."""

    def lookup(found: re.Match[str]) -> str:
        assert found[1] in NAMES, f"the README's <{found[1]}> is not a placeholder the runner knows"
        return f'"$("$README_PYTHON" "$README_LOOKUP" {found[1]})"'

    lines = []
    for line in text.splitlines():
        code, hash_mark, comment = line.partition("  #")
        if line.lstrip().startswith("#"):
            code, hash_mark, comment = "", "", line
        lines.append(PLACEHOLDER.sub(lookup, code) + hash_mark + comment)
    return "\n".join(lines) + "\n"


Newcomer = tuple[ServerProcess, Path, dict[str, str]]


@pytest.fixture
def newcomer(tmp_path: Path, engine_cache: Path) -> Iterator[Newcomer]:
    """A server whose home is ``$HOME/.openarts``, a working folder, and the shell's
    environment: the server's ``openarts`` first on the PATH, nothing of OpenArts set."""
    home_dir = tmp_path / "user"
    work = tmp_path / "work"
    work.mkdir()
    server = ServerProcess(
        home_dir / ".openarts",
        env={"OPENARTS_ENGINE_CACHE": str(engine_cache), "OPENARTS_RECONCILE_INTERVAL_S": "0.5"},
    )
    (home_dir / ".openarts").mkdir(parents=True)
    server.start(timeout_s=60)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENARTS_", "AWS_", "PYTEST_"))
    }
    env.update(
        HOME=str(home_dir),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        # The secret key `openarts configure` asks for, as a script gives it.
        OPENARTS_SK=server.credentials()["Secret Access Key"],
        COLUMNS="100",
        README_PYTHON=sys.executable,
        README_LOOKUP=str(Path(__file__).with_name("readme_lookup.py")),
        README_SERVER_HOME=str(server.home),
        README_SERVER_PORT=str(server.port),
        PYTHONPATH=str(README.parent),
    )
    try:
        yield server, work, env
    finally:
        server.close()
        # The README pushes an image: its tag goes with the server's registry.
        untag_registry(f"127.0.0.1:{server.registry_port}")


def test_every_readme_example_runs_as_written(
    newcomer: Newcomer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, work, env = newcomer
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", env["HOME"])
    ran = 0
    for block in readme_blocks():
        where = f"README.md line {block.line}"
        if block.first_line in SKIPPED:
            continue
        text = with_ports(block.text, server)
        if block.language == "python":
            exec(compile(text, where, "exec"), namespace)  # the README's own code
        else:
            assert block.language == "sh", f"{where}: a ```{block.language} block is not run"
            # One shell per block, as a reader pastes it; -x names the command that failed.
            done = subprocess.run(
                ["bash", "-euxo", "pipefail", "-c", with_lookups(text)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT_S,
                check=False,
            )
            assert done.returncode == 0, (
                f"{where} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
            if "service predict" in text:
                assert_answers_are_documented(text, done.stdout)
        ran += 1
    assert ran >= 10


def assert_answers_are_documented(block: str, printed: str) -> None:
    """The answers the README promises for its predictions."""
    if '"instances"' in block:
        assert re.search(r'"predictions": \[\s*0\s*\]', printed), printed
    else:
        assert re.search(r'"species": "setosa"', printed), printed


def test_every_block_is_run_or_skipped_with_a_reason() -> None:
    blocks = readme_blocks()
    assert blocks
    for block in blocks:
        assert block.language in {"sh", "python"} or block.first_line in SKIPPED, block
    known = {block.first_line for block in blocks}
    assert set(SKIPPED) <= known, "a skip names a block the README no longer has"
