"""`openarts job …`: training jobs (/v2/{project_id}/training-jobs)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from openarts.cli.api_client import ApiError
from openarts.cli.common import (
    FileOption,
    body_from,
    call,
    client,
    fail,
    key_value,
    printer,
    reported,
)
from openarts.cli.job_status import (
    FINAL_PHASES,
    describe,
    event_text,
    exit_code,
    failure,
    last_log_lines,
    waiting,
    why_failed,
)
from openarts.cli.output import Column, err, out, when
from openarts.cli.watch import HOUR_S, JobWaitLimit, Watch, clock

job_app = typer.Typer(help="Training jobs: create, follow, wait, terminate.", no_args_is_help=True)

JOBS = "/v2/{project_id}/training-jobs"
# How often `logs -f` and `wait` ask; the platform's own reconcile pace is similar.
POLL_S = 1.0

LIST_COLUMNS: list[Column] = [
    ("ID", "metadata.id"),
    ("NAME", "metadata.name"),
    ("STATUS", "status.phase"),
    ("DETAIL", "status.secondary_phase"),
    ("FLAVOR", "spec.resource.flavor_id"),
    ("NODES", "spec.resource.node_count"),
    ("CREATED", lambda job: when(job.get("metadata", {}).get("create_time"))),
]


SHOW_COLUMNS: list[Column] = [
    ("id", "metadata.id"),
    ("name", "metadata.name"),
    ("description", "metadata.description"),
    ("status", "status.phase"),
    ("detail", "status.secondary_phase"),
    ("waiting", waiting),
    ("failure", why_failed),
    ("exit code", exit_code),
    ("last log lines", last_log_lines),
    ("tasks", "status.tasks"),
    ("duration (ms)", "status.duration"),
    (
        "algorithm",
        lambda job: job.get("algorithm", {}).get("id") or job.get("algorithm", {}).get("boot_file"),
    ),
    ("engine", "algorithm.engine"),
    ("flavor", "spec.resource.flavor_id"),
    ("nodes", "spec.resource.node_count"),
    ("pool", "spec.resource.pool_id"),
    ("created", lambda job: when(job.get("metadata", {}).get("create_time"))),
]


def _io(items: list[str] | None, what: str) -> list[dict[str, Any]] | None:
    pairs = key_value(items, what)
    if not pairs:
        return None
    return [{"name": name, "remote": {"obs": {"obs_url": url}}} for name, url in pairs.items()]


@job_app.command("list")
def list_jobs(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Jobs whose name contains this.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only these phases (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Training jobs, newest first."""
    filters: list[dict[str, Any]] = []
    if name:
        filters.append({"key": "name", "operator": "like", "value": [name]})
    if status:
        filters.append({"key": "phase", "operator": "in", "value": status})
    body = {"offset": offset, "limit": limit, "filters": filters}
    answer = call(ctx, "POST", "/v2/{project_id}/training-job-searches", body)
    printer(ctx).rows(answer, answer.get("items", []), LIST_COLUMNS)


@job_app.command("show")
def show(ctx: typer.Context, job_id: str) -> None:
    """One job: status, tasks, resources."""
    printer(ctx).item(call(ctx, "GET", f"{JOBS}/{job_id}"), SHOW_COLUMNS)


@job_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[str | None, typer.Option(help="metadata.name")] = None,
    description: Annotated[str | None, typer.Option(help="metadata.description")] = None,
    algorithm_id: Annotated[str | None, typer.Option(help="Run a saved algorithm.")] = None,
    code_dir: Annotated[str | None, typer.Option(help="Code folder, /bucket/path/.")] = None,
    boot_file: Annotated[str | None, typer.Option(help="Boot file in the code folder.")] = None,
    command: Annotated[str | None, typer.Option(help="Command instead of a boot file.")] = None,
    engine_id: Annotated[str | None, typer.Option(help="Engine ID (see `job engines`).")] = None,
    flavor: Annotated[str | None, typer.Option(help="spec.resource.flavor_id")] = None,
    node_count: Annotated[int | None, typer.Option(min=1, help="Number of nodes.")] = None,
    pool: Annotated[str | None, typer.Option(help="Dedicated pool's ID.")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Hyperparameter NAME=VALUE (repeatable).")
    ] = None,
    input: Annotated[
        list[str] | None, typer.Option("--input", help="Input NAME=/bucket/path (repeatable).")
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option("--output-dir", help="Output NAME=/bucket/path/ (repeatable)."),
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Variable KEY=VALUE (repeatable).")] = None,
) -> None:
    """Create a job from a body file (-f, the reference's body) and/or flags."""
    params = key_value(param, "--param")
    flags: dict[str, Any] = {
        "kind": "job",
        "metadata": {"name": name, "description": description},
        "algorithm": {
            "id": algorithm_id,
            "code_dir": code_dir,
            "boot_file": boot_file,
            "command": command,
            "engine": {"engine_id": engine_id} if engine_id else None,
            "parameters": [{"name": k, "value": v} for k, v in params.items()] or None,
            "inputs": _io(input, "--input"),
            "outputs": _io(output, "--output-dir"),
            "environments": key_value(env, "--env") or None,
        },
        "spec": {"resource": {"flavor_id": flavor, "node_count": node_count, "pool_id": pool}},
    }
    body = body_from(
        file, flags, {"metadata.name": "--name", "spec.resource.flavor_id": "--flavor"}
    )
    body.setdefault("kind", "job")
    created = call(ctx, "POST", JOBS, body)
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        out.print(
            f"created job {created['metadata']['id']} ({created['metadata']['name']}): "
            f"{created['status']['phase']}"
        )


@job_app.command("update")
def update(
    ctx: typer.Context,
    job_id: str,
    description: Annotated[str, typer.Option(help="New description.")],
) -> None:
    """Change a job's description (the only field the API lets change)."""
    answer = call(ctx, "PUT", f"{JOBS}/{job_id}", {"description": description})
    printer(ctx).done(f"updated job {job_id}", answer)


@job_app.command("delete")
def delete(ctx: typer.Context, job_id: str) -> None:
    """Delete a job (a running one is stopped first)."""
    call(ctx, "DELETE", f"{JOBS}/{job_id}")
    printer(ctx).done(f"deleted job {job_id}")


@job_app.command("terminate")
def terminate(ctx: typer.Context, job_id: str) -> None:
    """Stop a waiting or running job."""
    answer = call(ctx, "POST", f"{JOBS}/{job_id}/actions", {"action_type": "terminate"})
    printer(ctx).done(f"terminating job {job_id}", answer)


@job_app.command("events")
def events(
    ctx: typer.Context,
    job_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 50,
) -> None:
    """A job's events, oldest first."""
    answer = call(ctx, "GET", f"{JOBS}/{job_id}/events", limit=limit, order="asc")
    printer(ctx).rows(
        answer,
        answer.get("events", []),
        [("TIME", "time"), ("LEVEL", "level"), ("SOURCE", "source"), ("MESSAGE", "message")],
    )


def _latest(row: dict[str, Any]) -> Any:
    # -1 marks a minute with no sample.
    return next((value for value in reversed(row.get("value") or []) if value != -1), "")


@job_app.command("metrics")
def metrics(
    ctx: typer.Context,
    job_id: str,
    task: Annotated[str, typer.Option(help="Task name.")] = "worker-0",
) -> None:
    """A task's CPU, memory (and GPU) use, one value per minute; the latest of each."""
    answer = call(ctx, "GET", f"{JOBS}/{job_id}/metrics/{task}")
    series = answer.get("metrics", [])
    printer(ctx).rows(
        answer,
        series,
        [
            ("METRIC", "metric"),
            ("LATEST", _latest),
            ("POINTS", lambda row: len(row.get("value") or [])),
        ],
    )


def _job(ctx: typer.Context, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = call(ctx, "GET", f"{JOBS}/{job_id}")
    return job


def _log_tail(ctx: typer.Context, job_id: str, task: str) -> dict[str, Any]:
    preview: dict[str, Any] = call(ctx, "GET", f"{JOBS}/{job_id}/tasks/{task}/logs/preview")
    return preview


def _new_part(preview: dict[str, Any], shown: int) -> tuple[bytes, int, int]:
    """What of the log is new since ``shown`` bytes: (bytes to print, bytes skipped
    because the preview no longer holds them, the log's size now)."""
    data = (preview.get("content") or "").encode("utf-8")
    full = int(preview.get("full_size") or len(data))
    if full < shown:  # a retry started a new log
        return data, 0, full
    fresh = full - shown
    if fresh > len(data):
        return data, fresh - len(data), full
    return data[len(data) - fresh :] if fresh else b"", 0, full


@job_app.command("logs")
def logs(
    ctx: typer.Context,
    job_id: str,
    task: Annotated[str, typer.Option(help="Task name.")] = "worker-0",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With -f, stop following after this many seconds (exit 2).")
    ] = None,
) -> None:
    """A task's log (its latest part); with -f, follow it as it is written."""
    deadline = None if timeout is None else time.monotonic() + timeout
    shown = 0
    while True:
        finished = _job(ctx, job_id)["status"]["phase"] in FINAL_PHASES
        part, skipped, shown = _new_part(_log_tail(ctx, job_id, task), shown)
        if skipped:
            err.print(f"[… {skipped} bytes of the log skipped: see `job log-url`]")
        if part and printer(ctx).json:
            # One JSON object per piece, so a script can read them as they come.
            typer.echo(json.dumps({"content": part.decode("utf-8", errors="replace")}))
        elif part:
            typer.echo(part.decode("utf-8", errors="replace"), nl=False)
        if not follow or finished:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise fail(f"job {job_id} still running after {timeout:g} s", code=2)
        time.sleep(POLL_S)


@job_app.command("log-url")
def log_url(
    ctx: typer.Context,
    job_id: str,
    task: Annotated[str, typer.Option(help="Task name.")] = "worker-0",
) -> None:
    """A link to download a task's whole log."""
    answer = call(ctx, "GET", f"{JOBS}/{job_id}/tasks/{task}/logs/url")
    printer(ctx).done(answer.get("obs_url", ""), answer)


def _events(ctx: typer.Context, job_id: str) -> list[tuple[str, str]] | None:
    """The job's latest events, oldest first; None where the server lists none (a wait
    goes on without them)."""
    with reported():
        try:
            answer = client(ctx).call(
                "GET", f"{JOBS}/{job_id}/events", params={"limit": 100, "order": "desc"}
            )
        except ApiError:
            return None
    listed = answer.get("events", []) if isinstance(answer, dict) else []
    return [
        (clock(event.get("time")), event_text(event))
        for event in reversed(listed)
        if isinstance(event, dict)
    ]


@job_app.command("wait")
def wait(
    ctx: typer.Context,
    job_id: str,
    timeout: JobWaitLimit = HOUR_S,
) -> None:
    """Show the job's progress until it ends: each change of status, and events as
    they come. Exit 0 when it Completed; 1 when it Failed (saying why: the failed task,
    its exit code and its last log lines) or was Terminated; 2 past --timeout."""
    json_output = printer(ctx).json
    with Watch(f"job {job_id}", timeout, quiet=json_output, poll_s=POLL_S) as watch:
        job = watch.follow(
            f"job {job_id}",
            lambda: _job(ctx, job_id),
            name=lambda shown: f"job {shown['metadata']['name']}",
            describe=describe,
            events=lambda: _events(ctx, job_id),
            settled=lambda shown: shown["status"]["phase"] in FINAL_PHASES,
        )
    phase = job["status"]["phase"]
    if json_output:
        printer(ctx).dump(job)
    if phase == "Completed":
        return
    found = failure(job)
    if found is None:
        raise fail(f"job {job_id} ended {phase}")
    if found.log_tail and not json_output:
        err.print(f"last lines of {found.task}'s log:" if found.task else "last log lines:")
        for line in found.log_tail.splitlines():
            err.print(f"  {line}")
    raise fail(f"job {job_id} ended {phase}: {found.summary()}")


@job_app.command("engines")
def engines(ctx: typer.Context) -> None:
    """The engines jobs can name."""
    answer = call(ctx, "GET", "/v2/{project_id}/training-job-engines")
    printer(ctx).rows(
        answer,
        answer.get("items", []),
        [
            ("ID", "engine_id"),
            ("NAME", "engine_name"),
            ("VERSION", "engine_version"),
            ("RUNS HERE", "runs_here"),
        ],
    )


@job_app.command("flavors")
def flavors(ctx: typer.Context) -> None:
    """The flavors jobs can use."""
    answer = call(ctx, "GET", "/v2/{project_id}/training-job-flavors")
    printer(ctx).rows(
        answer,
        answer.get("flavors", []),
        [
            ("ID", "flavor_id"),
            ("NAME", "flavor_name"),
            ("CPU", "flavor_info.cpu.core_num"),
            (
                "MEMORY",
                lambda f: f"{f.get('flavor_info', {}).get('memory', {}).get('size', '')} GiB",
            ),
            ("GPUS", "flavor_info.gpu.unit_num"),
        ],
    )
