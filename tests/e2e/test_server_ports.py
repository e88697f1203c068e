"""The server's ports as a new user meets them: a taken port is one line naming its role
and how to move it; object storage and the console follow ``--port``; and on Ctrl-C the
server says what keeps running and how to stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import huaweicloudsdkmodelarts.v1.model as sdk
import pytest

from openarts.storage.s3 import s3_client
from openarts.testing.bench_sdk import (
    SLEEPER,
    WHOLE_MACHINE_FLAVORS,
    create_waiting_job,
    sdk_client,
)
from openarts.testing.server import ServerProcess, free_port


def _environment(home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENARTS_")}
    return {**env, "OPENARTS_HOME": str(home), "OPENARTS_HOST": "127.0.0.1"}


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A port another program holds."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def four_free_ports() -> int:
    """A port whose next three are free too."""
    for _ in range(200):
        first = free_port()
        try:
            with socket.socket() as one, socket.socket() as two, socket.socket() as three:
                one.bind(("127.0.0.1", first + 1))
                two.bind(("127.0.0.1", first + 2))
                three.bind(("127.0.0.1", first + 3))
            return first
        except OSError:
            continue
    raise RuntimeError("no four free ports in a row")


@pytest.mark.parametrize(
    ("variable", "role", "flag"),
    [
        ("OPENARTS_CONSOLE_PORT", "the web console", "--console-port"),
        ("OPENARTS_REGISTRY_PORT", "the image registry", "--registry-port"),
    ],
)
def test_a_taken_port_is_one_line_naming_its_role_and_flag(
    tmp_path: Path, variable: str, role: str, flag: str
) -> None:
    with held_port() as taken:
        env = {
            **_environment(tmp_path / "home"),
            "OPENARTS_PORT": str(free_port()),
            "OPENARTS_OBS_PORT": str(free_port()),
            "OPENARTS_CONSOLE_PORT": str(free_port()),
            "OPENARTS_REGISTRY_PORT": str(free_port()),
            variable: str(taken),
        }
        ran = subprocess.run(
            [sys.executable, "-m", "openarts", "server"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert ran.returncode == 2
    said = ran.stderr.strip()
    assert "Traceback" not in said and len(said.splitlines()) == 1, said
    assert f"port {taken}" in said
    assert role in said
    assert f"{flag} or {variable}" in said
    # Nothing was set up before the ports were checked.
    assert not (tmp_path / "home" / "credentials.csv").exists()


def test_the_other_ports_follow_the_api_and_ctrl_c_says_what_keeps_running(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(WHOLE_MACHINE_FLAVORS)
    port = four_free_ports()
    server = ServerProcess(
        home, port=port, obs_port=port + 1, console_port=port + 2, registry_port=port + 3
    )
    output = tmp_path / "server.out"
    env = {**_environment(home), "OPENARTS_PUBLIC_CPU_SHARE": "1"}
    with output.open("wb") as sink:
        server.process = subprocess.Popen(
            [sys.executable, "-m", "openarts", "server", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.process.poll() is None, output.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.endpoint}/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        banner = output.read_text()
        assert f"http://127.0.0.1:{port + 1}" in banner
        assert f"http://127.0.0.1:{port + 2}/console/" in banner
        if Path("/usr/bin/docker-registry").exists():
            assert f"registry   : 127.0.0.1:{port + 3}:" in banner
        # The console answers on the API's port + 2 (its sign-in page).
        assert httpx.get(f"{server.console_endpoint}/console/login").status_code == 200

        # A job that runs until stopped, through object storage on the API's port + 1.
        row = server.credentials()
        s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
        s3.create_bucket(Bucket="ports")
        s3.put_object(Bucket="ports", Key="code/boot.py", Body=SLEEPER)
        client = sdk_client(server)
        job_id = create_waiting_job(client, "keeps-running", "ports")

        def phase() -> str:
            shown = client.show_training_job_details(
                sdk.ShowTrainingJobDetailsRequest(training_job_id=job_id)
            )
            return str(shown.status.phase)

        deadline = time.monotonic() + 120
        while phase() != "Running":
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.2)

        # Ctrl-C: the server stops, the job keeps running, and the user is told so.
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=60) == 130  # as Ctrl-C ends any program
        said = output.read_text()
        assert "Still running" in said and "1 training job" in said, said
        assert "openarts stop --all" in said and "openarts job terminate <id>" in said
    finally:
        server.close()
