"""`openarts job` and `openarts pool` against a real server: a job created from flags and
from a reference body, its log followed as it is written, `wait` exiting by the job's
ending, and a job queueing in a full pool that is then scaled."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from openarts.testing.cli_runner import CliRunner
from openarts.testing.clients import AkSk, SignedClient
from openarts.testing.server import ServerProcess
from tests.cli.conftest import Cli, until

pytestmark = pytest.mark.e2e


FLAVORS = """
flavors:
  - name: test.cpu.tiny
    vcpus: 0.25
    memory_gib: 0.5
    uses: [pool, training]
"""

TRAIN = """\
import sys, time
for step in range(3):
    print(f"step {step} of 3", flush=True)
    time.sleep(0.3)
if "--fail=yes" in sys.argv:
    print("giving up", flush=True)
    sys.exit(3)
print("training finished", flush=True)
"""

SLOW = "import time\nprint('holding the node', flush=True)\ntime.sleep(120)\n"


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("cli-jobs") / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def code_bucket(
    cli_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory, cli_runner: CliRunner
) -> str:
    cli = Cli(cli_server, tmp_path_factory.mktemp("cfg") / "config.yaml", cli_runner)
    folder = tmp_path_factory.mktemp("code")
    (folder / "train.py").write_text(TRAIN)
    (folder / "slow.py").write_text(SLOW)
    cli.ok("obs", "mb", "obs://cli-code")
    for name in ("train.py", "slow.py"):
        cli.ok("obs", "cp", str(folder / name), f"obs://cli-code/code/{name}")
    return "cli-code"


def _job_flags(name: str, boot: str = "train.py", *extra: str) -> list[str]:
    return [
        "job",
        "create",
        "--name",
        name,
        "--code-dir",
        "/cli-code/code/",
        "--boot-file",
        f"/cli-code/code/{boot}",
        "--flavor",
        "test.cpu.tiny",
        *extra,
    ]


def test_job_from_flags_log_followed_and_waited(cli: Cli, code_bucket: str) -> None:
    created = cli.json(*_job_flags("cli-train"))
    job_id = created["metadata"]["id"]

    # -f follows the log until the job ends: every line, in order, then exit 0.
    followed = cli.ok("job", "logs", job_id, "-f")
    lines = [line for line in followed.splitlines() if line.startswith(("step", "training"))]
    assert lines == ["step 0 of 3", "step 1 of 3", "step 2 of 3", "training finished"]

    waited = cli.run("job", "wait", job_id)
    assert waited.returncode == 0, waited.stderr
    assert "Completed" in waited.stderr

    shown = cli.ok("job", "show", job_id)
    assert "Completed" in shown and "cli-train" in shown
    listed = cli.json("job", "list", "--status", "Completed")
    assert job_id in [item["metadata"]["id"] for item in listed["items"]]
    assert "cli-train" in cli.ok("job", "list", "--name", "cli-tr")
    assert "training finished" in cli.ok("job", "logs", job_id)
    events = cli.json("job", "events", job_id)
    assert events["events"], events
    assert "METRIC" in cli.ok("job", "metrics", job_id)
    link = cli.ok("job", "log-url", job_id).strip()
    assert "training finished" in httpx.get(link, timeout=30).text
    assert "worker-9" in cli.fails("job", "log-url", job_id, "--task", "worker-9")
    assert "test.cpu.tiny" in cli.ok("job", "flavors")
    assert cli.json("job", "engines")["items"]

    cli.ok("job", "update", job_id, "--description", "changed from the CLI")
    assert cli.json("job", "show", job_id)["metadata"]["description"] == "changed from the CLI"
    assert "deleted" in cli.ok("job", "delete", job_id)
    gone = cli.fails("job", "show", job_id)
    assert "ModelArts.2775" in gone and "not found" in gone


def test_failed_job_makes_wait_exit_non_zero_saying_why(cli: Cli, code_bucket: str) -> None:
    job_id = cli.json(*_job_flags("cli-fail", "train.py", "--param", "fail=yes"))["metadata"]["id"]
    error = cli.fails("job", "wait", job_id)
    # Why, in one line: the failed task and its exit code; above it, its last log lines.
    assert f"error: job {job_id} ended Failed: worker-0 failed: exit code 3" in error
    tail = error.split("last lines of worker-0's log:\n")[1]
    assert "  step 2 of 3\n  giving up\n" in tail
    assert "giving up" in cli.ok("job", "logs", job_id)

    shown = cli.ok("job", "show", job_id)
    assert re.search(r"^failure +worker-0 failed: exit code 3 *$", shown, re.M), shown
    assert re.search(r"^exit code +3 \(worker-0\) *$", shown, re.M), shown
    assert re.search(r"^last log lines +step 0 of 3", shown, re.M) and "giving up" in shown
    # A job that did not fail shows no such rows.
    assert "waiting" not in shown
    task = cli.json("job", "show", job_id)["status"]["task_statuses"][0]
    assert task["exit_code"] == 3 and task["task"] == "worker-0"

    # With -o json the job alone is on stdout (for a script), the reason still on stderr.
    scripted = cli.run("job", "wait", job_id, "-o", "json")
    assert scripted.returncode == 1
    assert json.loads(scripted.stdout)["status"]["phase"] == "Failed"
    assert "exit code 3" in scripted.stderr and "event:" not in scripted.stderr


def test_wait_shows_each_change_and_the_events(cli: Cli, code_bucket: str) -> None:
    job_id = cli.json(*_job_flags("cli-progress"))["metadata"]["id"]
    waited = cli.run("job", "wait", job_id)
    assert waited.returncode == 0, waited.stderr
    lines = waited.stderr.splitlines()
    # Each line: the time, the job, what happened; the last one the end.
    assert all(re.match(r"\d\d:\d\d:\d\d job cli-progress: ", line) for line in lines), lines
    said = [line.split("job cli-progress: ", 1)[1] for line in lines]
    assert said[-1] == "Completed", said
    assert "event: [JobCreated] training job cli-progress created" in said, said
    assert any(line.startswith("event: [JobRunning]") for line in said), said
    assert said.index("event: [JobCreated] training job cli-progress created") < len(said) - 1
    # Every wait has a limit, said in its help.
    assert "default 3600: an hour" in cli.ok("job", "wait", "--help")


def test_wait_on_a_terminal_shows_a_spinner(cli: Cli, code_bucket: str) -> None:
    job_id = cli.json(*_job_flags("cli-spinner", "slow.py"))["metadata"]["id"]
    until(lambda: cli.json("job", "show", job_id)["status"]["phase"] == "Running", "job running")
    code, drawn = cli.in_terminal("job", "wait", job_id, "--timeout", "2")
    assert code == 2, drawn
    assert any(frame in drawn for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"), drawn
    assert "job cli-spinner: Running" in drawn
    assert f"job {job_id} still Running after 2 s" in drawn
    cli.ok("job", "terminate", job_id)


def test_job_from_a_reference_body_file_and_terminate(
    cli: Cli, code_bucket: str, tmp_path: Path
) -> None:
    body = {
        "kind": "job",
        "metadata": {"name": "cli-from-file", "description": "from a file"},
        "algorithm": {
            "code_dir": "/cli-code/code/",
            "boot_file": "/cli-code/code/slow.py",
        },
        "spec": {"resource": {"flavor_id": "test.cpu.tiny", "node_count": 1}},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(body))
    out = cli.ok("job", "create", "-f", str(path))
    assert "created job" in out and "cli-from-file" in out
    job_id = out.split("created job ")[1].split()[0]
    # A flag given beside the file wins over the file's field.
    other = tmp_path / "job.json"
    other.write_text(json.dumps(body))
    second = cli.json("job", "create", "-f", str(other), "--name", "cli-flag-wins")
    assert second["metadata"]["name"] == "cli-flag-wins"

    until(lambda: cli.json("job", "show", job_id)["status"]["phase"] == "Running", "job running")
    assert "terminating" in cli.ok("job", "terminate", job_id)
    assert "ended Terminated" in cli.fails("job", "wait", job_id)
    cli.ok("job", "terminate", second["metadata"]["id"])


def test_job_bad_input_is_refused_in_words(cli: Cli, code_bucket: str, tmp_path: Path) -> None:
    missing = cli.fails("job", "create", "--name", "no-flavor")
    assert "missing --flavor (spec.resource.flavor_id)" in missing
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    assert "must hold a mapping" in cli.fails("job", "create", "-f", str(listing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [job\n")
    assert "neither YAML nor JSON" in cli.fails("job", "create", "-f", str(broken))
    assert "cannot read" in cli.fails("job", "create", "-f", str(tmp_path / "nope.yaml"))
    assert "KEY=VALUE" in cli.fails(*_job_flags("bad-param", "train.py", "--param", "novalue"))
    # The API's own refusal, with its code, reaches the user.
    refused = cli.fails(*_job_flags("bad-flavor")[:-1], "no.such.flavor")
    assert "ModelArts." in refused and "no.such.flavor" in refused
    timed = cli.json(*_job_flags("cli-timeout", "slow.py"))["metadata"]["id"]
    assert "still" in cli.fails("job", "wait", timed, "--timeout", "0.5", code=2)
    following = cli.run("job", "logs", timed, "-f", "--timeout", "0.5")
    assert following.returncode == 2 and "still running" in following.stderr
    cli.ok("job", "terminate", timed)


def _network(server: ServerProcess) -> str:
    row = server.credentials()
    client = SignedClient(
        server.endpoint, row["Project Id"], AkSk(row["Access Key Id"], row["Secret Access Key"])
    )
    body = {
        "apiVersion": "v1",
        "kind": "Network",
        "metadata": {"labels": {"os.modelarts/name": "cli-net"}},
        "spec": {"cidr": "192.168.128.0/17"},
    }
    created: dict[str, Any] = client.call("POST", "/v1/{project_id}/networks", body, expect=200)
    return str(created["metadata"]["name"])


def test_pool_lifecycle_queue_scale_and_tags(
    cli: Cli, cli_server: ServerProcess, code_bucket: str
) -> None:
    network = _network(cli_server)
    created = cli.json(
        "pool",
        "create",
        "--name",
        "cli-pool",
        "--flavor",
        "test.cpu.tiny",
        "--count",
        "1",
        "--network",
        network,
        "--scope",
        "Train",
    )
    pool = created["metadata"]["name"]
    until(lambda: cli.json("pool", "show", pool)["status"]["phase"] == "Running", "pool running")
    table = cli.ok("pool", "list")
    assert pool in table and "cli-pool" in table and "test.cpu.tiny x1" in table
    assert "test.cpu.tiny" in cli.ok("pool", "nodes", pool)
    assert "test.cpu.tiny" in cli.ok("pool", "flavors")

    holder = cli.json(*_job_flags("cli-holder", "slow.py", "--pool", pool))["metadata"]["id"]
    until(lambda: cli.json("job", "show", holder)["status"]["phase"] == "Running", "holder running")
    waiting = cli.json(*_job_flags("cli-waiter", "train.py", "--pool", pool))["metadata"]["id"]

    def queued() -> dict[str, Any] | None:
        items = cli.json("pool", "queue", pool)["items"]
        return next((w for w in items if w["jobName"] == waiting and w["status"] == "Queue"), None)

    assert until(queued, "the second job queued")["pendingPosition"] == 1

    def says_why() -> str | None:
        statuses = cli.json("job", "show", waiting)["status"].get("task_statuses") or []
        said = str(statuses[0].get("message") or "") if statuses else ""
        return said if "held by training job cli-holder" in said else None

    assert until(says_why, "the waiting job to say why").startswith("waiting for")
    assert "waiting" in cli.ok("job", "show", waiting)
    # A wait says why it waits, and stops at its limit (exit 2) saying it again.
    late = cli.fails("job", "wait", waiting, "--timeout", "1", code=2)
    assert "Pending (Queuing): waiting for" in late and "held by training job cli-holder" in late
    assert f"job {waiting} still Pending (Queuing): waiting for" in late
    public = cli.json("pool", "public")
    # A dedicated pool's work is not the public pool's; and while the pool holds part
    # of the host, the public remainder is a reservation (shared 1x), not shared 4x.
    assert public["cpu_share"] == 1.0, public
    assert public["capacity"] == public["hosts"], public
    assert all("cli-waiter" not in item["name"] for item in public["items"]), public
    assert "cpu share" in cli.ok("pool", "public")
    queue_table = cli.ok("pool", "queue", pool)
    assert waiting in queue_table and "Queue" in queue_table and "Running" in queue_table

    # Scaling the pool up gives the waiting job a node of its own.
    assert "x2" in cli.ok("pool", "scale", pool, "--count", "2")
    assert cli.run("job", "wait", waiting, "--timeout", "90").returncode == 0
    cli.ok("job", "terminate", holder)

    cli.ok("pool", "tag", pool, "team=vision", "tier=gold")
    tags = cli.json("pool", "tags", pool)["tags"]
    assert {(t["key"], t["value"]) for t in tags} == {("team", "vision"), ("tier", "gold")}
    cli.ok("pool", "untag", pool, "tier")
    assert [t["key"] for t in cli.json("pool", "tags", pool)["tags"]] == ["team"]
    assert "KEY=VALUE" in cli.fails("pool", "tag", pool, "oops")

    cli.ok("pool", "update", pool, "--description", "made by the CLI")
    assert "made by the CLI" in cli.ok("pool", "show", pool)
    assert "nothing to change" in cli.fails("pool", "update", pool)
    assert "no flavor" in cli.fails("pool", "scale", pool, "--count", "1", "--flavor", "x.y")
    assert "missing --network (spec.network.name)" in cli.fails(
        "pool", "create", "--flavor", "test.cpu.tiny"
    )
    assert "ModelArts." in cli.fails("pool", "show", "no-such-pool")
    assert "deleting" in cli.ok("pool", "delete", pool)
