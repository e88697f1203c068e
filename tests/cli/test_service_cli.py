"""`openarts service` against a real server that really serves: an iris model imported
with the CLI, deployed, waited for, asked for predictions through the gateway, scaled,
updated, stopped and started, its update log, events and monitor read, and deleted; and
the errors a user meets (unknown services, a stopped service, requests that are not
JSON, missing flags)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from openarts.testing.cli_runner import CliRunner
from openarts.testing.iris import IRIS_FEATURES, IRIS_QUESTIONS, train_iris
from openarts.testing.server import ServerProcess
from tests.cli.conftest import Cli
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

SPEC = "test.infer.small"
FLAVORS = f"""
flavors:
  - name: {SPEC}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
"""
BUCKET = "cli-svc"
PLAIN = f"python_{sys.version_info.major}.{sys.version_info.minor}"
UNKNOWN = "0" * 32


@pytest.fixture(scope="module")
def cli_server(
    tmp_path_factory: pytest.TempPathFactory, engine_cache: Path
) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("cli-services") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {
        "OPENARTS_RECONCILE_INTERVAL_S": "0.5",
        "OPENARTS_REPLICA_RESTART_BASE_S": "0.2",
        # The models run in the Scikit_Learn runtime, made once for the run.
        "OPENARTS_ENGINE_CACHE": str(engine_cache),
    }
    process = ServerProcess(home, env=env).start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def model_id(
    cli_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory, cli_runner: CliRunner
) -> str:
    """The iris model, uploaded to OBS and imported with `model create --wait`."""
    folder = tmp_path_factory.mktemp("iris")
    train_iris(folder / "iris.joblib")
    # No runtime named: the type's own, scikit-learn's (plain Python has no scikit-learn).
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn"}
    s3 = admin_s3(cli_server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="iris/iris.joblib", Body=(folder / "iris.joblib").read_bytes())
    s3.put_object(Bucket=BUCKET, Key="iris/config.json", Body=json.dumps(config))
    cli = Cli(cli_server, tmp_path_factory.mktemp("cfg") / "config.yaml", cli_runner)
    model = cli.json(
        "model",
        "create",
        "--name",
        "cli-iris",
        "--version",
        "1.0.0",
        "--model-type",
        "Scikit_Learn",
        "--source-location",
        f"obs://{BUCKET}/iris/",
        "--wait",
        "--timeout",
        "120",
    )
    return str(model["model_id"])


def question(flower: tuple[float, ...]) -> str:
    return json.dumps({"data": {"req_data": [dict(zip(IRIS_FEATURES, flower, strict=True))]}})


def species(answer: dict[str, Any]) -> str:
    return str(answer["data"]["resp_data"][0]["predictresult"])


def gone(cli: Cli, service_id: str, timeout_s: float = 60.0) -> str:
    """The error `service show` prints once the service is deleted."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = cli.run("service", "show", service_id)
        if done.returncode != 0:
            return done.stderr
        assert time.monotonic() < deadline, f"service {service_id} still there: {done.stdout}"
        time.sleep(0.2)


def test_a_service_is_deployed_serves_scales_stops_and_goes(
    cli: Cli, model_id: str, tmp_path: Path
) -> None:
    assert SPEC in cli.ok("service", "specifications")

    printed = cli.ok(
        "service",
        "create",
        "--name",
        "cli-iris-svc",
        "--model-id",
        model_id,
        "--flavor",
        SPEC,
        "--description",
        "iris for the cli",
    )
    assert printed.startswith("deploying service ") and "(cli-iris-svc)" in printed
    service_id = printed.split()[2]
    waited = cli.run("service", "wait", service_id, "--timeout", "120")
    assert waited.returncode == 0, waited.stderr
    assert "cli-iris-svc: running" in waited.stderr

    table = cli.ok("service", "list")
    assert "cli-iris-svc" in table and "running" in table
    details = cli.ok("service", "show", service_id)
    assert f"/v1/infers/{service_id}" in details and "cli-iris" in details and SPEC in details
    shown = cli.json("service", "show", service_id)
    assert shown["config"][0]["instance_count"] == 1 and shown["config"][0]["weight"] == 100
    named = cli.json("service", "list", "--name", "cli-iris-svc")["services"]
    assert [s["service_id"] for s in named] == [service_id]

    # Predictions through the gateway, from --data and from a file.
    for flower, expected in IRIS_QUESTIONS:
        answer = cli.json("service", "predict", service_id, "--data", question(flower))
        assert species(answer) == expected
    request = tmp_path / "request.json"
    request.write_text(question(IRIS_QUESTIONS[1][0]))
    answer = json.loads(cli.ok("service", "predict", service_id, "--file", str(request)))
    assert species(answer) == IRIS_QUESTIONS[1][1]
    # A body the model cannot read: the model's error, exit 1, and the service stays up.
    error = cli.fails("service", "predict", service_id, "--data", '{"data": "not rows"}')
    assert "MR.0105" in error and "no rows" in error and "(HTTP 400)" in error
    # Not JSON: refused before anything is sent.
    assert "--data is not JSON" in cli.fails("service", "predict", service_id, "--data", "{oops")

    # Scale: the update's config instance_count; the rest of the config stays.
    assert "to 2 instance(s)" in cli.ok("service", "scale", service_id, "--instances", "2")
    cli.ok("service", "wait", service_id, "--timeout", "120")
    shown = cli.json("service", "show", service_id)
    assert shown["config"][0]["instance_count"] == 2
    assert shown["config"][0]["specification"] == SPEC
    monitor = cli.json("service", "monitor", service_id)
    assert monitor["service_instance_count"] == 2
    assert monitor["monitors"][0]["invocation_times"] >= 4
    assert "instances running" in cli.ok("service", "monitor", service_id)
    error = cli.fails("service", "scale", service_id, "--instances", "1", "--model-id", UNKNOWN)
    assert f"does not deploy model {UNKNOWN}" in error

    cli.ok("service", "update", service_id, "--description", "scaled up")
    assert cli.json("service", "show", service_id)["description"] == "scaled up"
    update = tmp_path / "update.yaml"
    update.write_text("description: from a file\n")
    cli.ok("service", "update", service_id, "-f", str(update))
    assert cli.json("service", "show", service_id)["description"] == "from a file"

    logs = cli.json("service", "logs", service_id)["logs"]
    assert len(logs) >= 2
    assert [c["instance_count"] for c in logs[-1]["config"]] in ([1], [2])
    assert "SUCCESS" in cli.ok("service", "logs", service_id)
    events = cli.ok("service", "events", service_id)
    assert "ready for traffic" in events

    # Stopped: predictions are refused with the gateway's code; started: served again.
    assert cli.ok("service", "stop", service_id).strip() == f"stopping service {service_id}"
    cli.ok("service", "wait", service_id, "--for", "stopped", "--timeout", "60")
    assert cli.json("service", "show", service_id)["status"] == "stopped"
    error = cli.fails("service", "wait", service_id, "--timeout", "1", code=2)
    assert "still stopped after 1 s" in error
    error = cli.fails("service", "predict", service_id, "--data", question(IRIS_QUESTIONS[0][0]))
    assert "ModelArts.4203" in error and "HTTP 400" in error
    cli.ok("service", "start", service_id)
    final = cli.json("service", "wait", service_id, "--timeout", "120")
    assert final["status"] == "running"
    answer = cli.json("service", "predict", service_id, "--data", question(IRIS_QUESTIONS[2][0]))
    assert species(answer) == IRIS_QUESTIONS[2][1]

    assert cli.ok("service", "delete", service_id).strip() == f"deleted service {service_id}"
    assert "ModelArts.3502" in gone(cli, service_id)
    assert "ModelArts.3502" in cli.fails(
        "service", "predict", service_id, "--data", question(IRIS_QUESTIONS[0][0])
    )


def test_service_errors_are_clear(cli: Cli, model_id: str, tmp_path: Path) -> None:
    for command in ("show", "delete", "stop", "start", "events", "logs", "monitor", "wait"):
        error = cli.fails("service", command, UNKNOWN)
        assert "ModelArts.3502" in error, (command, error)
    assert "ModelArts.3502" in cli.fails("service", "scale", UNKNOWN, "--instances", "2")
    assert "ModelArts.3502" in cli.fails("service", "update", UNKNOWN, "--description", "x")
    assert "ModelArts.3502" in cli.fails("service", "predict", UNKNOWN, "--data", "{}")

    error = cli.fails("service", "create", "--instances", "2")
    assert "service_name" in error and "config.0.model_id" in error
    assert "config.0.specification" in error
    error = cli.fails("service", "create", "--name", "x", "--model-id", UNKNOWN, "--flavor", SPEC)
    assert "ModelArts.3507" in error
    # A reference body reaches the server as written (here with a flavor it lacks).
    body = {
        "service_name": "from-file",
        "infer_type": "real-time",
        "config": [
            {
                "model_id": model_id,
                "specification": "modelarts.vm.none",
                "weight": 100,
                "instance_count": 1,
            }
        ],
    }
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(body))
    assert "ModelArts.4507" in cli.fails("service", "create", "-f", str(path))
    path.write_text("just text\n")
    assert "must hold a mapping" in cli.fails("service", "create", "-f", str(path))
    assert "nothing to change" in cli.fails("service", "update", UNKNOWN)
    assert "--instances" in cli.fails("service", "scale", UNKNOWN, code=2)

    assert "one of them" in cli.fails("service", "predict", UNKNOWN)
    assert "one of them" in cli.fails(
        "service", "predict", UNKNOWN, "--data", "{}", "--file", str(path)
    )
    assert f"{path} is not JSON" in cli.fails("service", "predict", UNKNOWN, "--file", str(path))
    assert cli.json("service", "list", "--status", "failed")["services"] == []


# A model whose server ends at once: its replicas never answer, and the service fails.
BROKEN_SERVER = "import sys\nprint('no weights here', flush=True)\nsys.exit(4)\n"


def test_a_service_that_cannot_start_says_why(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "serve.py").write_text(BROKEN_SERVER)
    (folder / "config.json").write_text(
        json.dumps({"model_algorithm": "predict_analysis", "model_type": "Image"})
    )
    cli.ok("obs", "mb", "obs://cli-broken")
    cli.ok("obs", "cp", "-r", str(folder), "obs://cli-broken/model/")
    body = tmp_path / "model.yaml"
    body.write_text(
        yaml.safe_dump(
            {
                "model_name": "cli-broken",
                "model_version": "1.0.0",
                "model_type": "Image",
                "source_location": "obs://cli-broken/model/",
                "cmd": "exec python serve.py",
            }
        )
    )
    model = cli.json("model", "create", "-f", str(body), "--wait", "--timeout", "120")
    created = cli.json(
        "service",
        "create",
        "--name",
        "cli-broken-svc",
        "--model-id",
        model["model_id"],
        "--flavor",
        SPEC,
    )
    service_id = created["service_id"]

    waited = cli.run("service", "wait", service_id, "--timeout", "120")
    assert waited.returncode == 1, waited.stderr
    # Progress as it went (each status, each event), then why, in one line.
    assert "service cli-broken-svc: deploying" in waited.stderr
    assert "service cli-broken-svc: event: Warning: replica" in waited.stderr
    last = waited.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: service {service_id} failed: replica of model"), last
    assert "health check" in last and "no weights here" in last

    shown = cli.ok("service", "show", service_id)
    assert re.search(r"^error +replica of model", shown, re.M), shown
    assert re.search(r"^latest event +\d\d:\d\d:\d\d Warning: replica", shown, re.M), shown
    assert "default 1800: half an hour" in cli.ok("service", "wait", "--help")
    cli.ok("service", "delete", service_id)
