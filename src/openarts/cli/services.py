"""`openarts service …`: real-time services (/v1/{project_id}/services), and predictions
sent to them through the platform's inference gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer

from openarts.cli.api_client import ApiError
from openarts.cli.common import (
    FileOption,
    body_from,
    call,
    client,
    fail,
    load_body,
    merge,
    parse_json,
    printer,
    read_text_file,
    reported,
)
from openarts.cli.output import Column, out, when
from openarts.cli.watch import HALF_HOUR_S, HalfHourLimit, Watch, clock
from openarts.domain.services import UNREACHED, ServiceStatus

service_app = typer.Typer(
    help="Real-time services: deploy models, scale, stop/start, predict.", no_args_is_help=True
)

SERVICES = "/v1/{project_id}/services"
# Where a service's inference API lives under the gateway when the answer names no address.
INFER_PREFIX = "/v1/infers"
# Statuses `wait` stops at unless told another: the service serves, or it will not.
SETTLED = ("running", "failed")
# Statuses in which `show` says the latest event: why the service is not serving as asked.
UNSTEADY = ("deploying", "concerning", "failed")
# A deployment takes seconds; asking more often only loads the server.
POLL_S = 1.0

LIST_COLUMNS: list[Column] = [
    ("ID", "service_id"),
    ("NAME", "service_name"),
    ("STATUS", "status"),
    ("TYPE", "infer_type"),
    ("CALLS", "invocation_times"),
    ("FAILED", "failed_times"),
    ("PUBLISHED", lambda s: when(s.get("publish_at"))),
]
SHOW_COLUMNS: list[Column] = [
    ("id", "service_id"),
    ("name", "service_name"),
    ("description", "description"),
    ("status", "status"),
    ("progress", "progress"),
    ("error", "error_msg"),
    ("type", "infer_type"),
    ("access address", "access_address"),
    ("calls", "invocation_times"),
    ("failed calls", "failed_times"),
    ("published", lambda s: when(s.get("publish_at"))),
    ("updated", lambda s: when(s.get("update_time"))),
]
CONFIG_COLUMNS: list[Column] = [
    ("MODEL", "model_id"),
    ("NAME", "model_name"),
    ("VERSION", "model_version"),
    ("SPECIFICATION", "specification"),
    ("INSTANCES", "instance_count"),
    ("WEIGHT", "weight"),
    ("STATUS", "status"),
]
# The fields of a config entry that an update may send back (answers add names, statuses
# and times).
_CONFIG_FIELDS = (
    "model_id",
    "specification",
    "custom_spec",
    "weight",
    "instance_count",
    "envs",
    "deploy_timeout_in_seconds",
    "cluster_id",
    "pool_name",
    "additional_properties",
    "affinity",
)

ServiceId = Annotated[str, typer.Argument(help="Service ID.")]
ModelIdOption = Annotated[
    str | None,
    typer.Option(
        "--model-id",
        help="config.0.model_id: the model to deploy (see `openarts model list`).",
    ),
]
SpecificationOption = Annotated[
    str | None,
    typer.Option(
        "--specification",
        "--flavor",
        help="config.0.specification: the flavor (see `openarts service specifications`).",
    ),
]
InstancesOption = Annotated[
    int | None,
    typer.Option(
        "--instances",
        min=1,
        max=128,
        metavar="N",
        help="config.0.instance_count: instances of the model (create: 1).",
    ),
]
WeightOption = Annotated[
    int | None,
    typer.Option(
        "--weight",
        min=0,
        max=100,
        metavar="N",
        help="config.0.weight: its share of the traffic in percent (create: 100).",
    ),
]
DescriptionOption = Annotated[str | None, typer.Option("--description", help="description")]


def _service(ctx: typer.Context, service_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = call(ctx, "GET", f"{SERVICES}/{service_id}")
    return shown


def _put(ctx: typer.Context, service_id: str, body: dict[str, Any]) -> Any:
    return call(ctx, "PUT", f"{SERVICES}/{service_id}", body)


@service_app.command("list")
def list_services(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only the service of this name.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only services in this status (e.g. running).")
    ] = None,
    model_id: Annotated[
        str | None, typer.Option("--model-id", help="Only services that deploy this model.")
    ] = None,
    infer_type: Annotated[str | None, typer.Option(help="real-time, batch or edge.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Services of the project, newest first."""
    answer = call(
        ctx,
        "GET",
        SERVICES,
        service_name=name,
        status=status,
        model_id=model_id,
        infer_type=infer_type,
        limit=limit,
        offset=offset,
    )
    printer(ctx).rows(answer, answer.get("services", []), LIST_COLUMNS)


@service_app.command("show")
def show(ctx: typer.Context, service_id: ServiceId) -> None:
    """One service: status, access address, and its models with their instances. While
    it is not steady (deploying, concerning, failed) its latest event says why."""
    shown = _service(ctx, service_id)
    columns = SHOW_COLUMNS
    if shown.get("status") in UNSTEADY and not printer(ctx).json:
        latest = (_events(ctx, service_id) or [])[-1:]
        said = f"{latest[0][0]} {latest[0][1]}" if latest else None
        columns = [*SHOW_COLUMNS, ("latest event", lambda _: said)]
    printer(ctx).item(shown, columns)
    if not printer(ctx).json:
        out.print()
        printer(ctx).rows(shown, shown.get("config") or [], CONFIG_COLUMNS)


@service_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[str | None, typer.Option("--name", help="service_name")] = None,
    model_id: ModelIdOption = None,
    specification: SpecificationOption = None,
    instances: InstancesOption = None,
    weight: WeightOption = None,
    description: DescriptionOption = None,
) -> None:
    """Deploy a real-time service from a body file (-f, the reference's body) and/or flags.
    The flags describe one model (--weight defaults to 100); a body may list several."""
    base = load_body(file) or {}
    entry_flags = {
        "model_id": model_id,
        "specification": specification,
        "instance_count": instances,
        "weight": weight,
    }
    config = base.get("config")
    if any(value is not None for value in entry_flags.values()):
        config = _one_entry(config, entry_flags, "create")
        config[0].setdefault("weight", 100)
        config[0].setdefault("instance_count", 1)
    flags: dict[str, Any] = {
        "service_name": name,
        "description": description,
        "infer_type": base.get("infer_type") or "real-time",
        "config": config,
    }
    body = body_from(
        None,
        merge(base, flags),
        {
            "service_name": "--name",
            "config.0.model_id": "--model-id",
            "config.0.specification": "--specification",
        },
    )
    created = call(ctx, "POST", SERVICES, body)
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        out.print(f"deploying service {created['service_id']} ({body['service_name']})")


def _one_entry(config: Any, flags: dict[str, Any], what: str) -> list[dict[str, Any]]:
    """The config list with the flags applied to its one entry (made when there is
    none); flags cannot say which of several models they mean."""
    entries = config if isinstance(config, list) else []
    if len(entries) > 1:
        raise fail(
            f"the service has {len(entries)} models: {what} their config with a body (-f) "
            "rather than with model flags"
        )
    entry = entries[0] if entries and isinstance(entries[0], dict) else {}
    return [merge(entry, flags)]


def _sendable(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in _CONFIG_FIELDS if entry.get(key) is not None}


def _current_config(ctx: typer.Context, service_id: str) -> list[dict[str, Any]]:
    return [_sendable(entry) for entry in _service(ctx, service_id).get("config") or []]


@service_app.command("update")
def update(
    ctx: typer.Context,
    service_id: ServiceId,
    file: FileOption = None,
    description: DescriptionOption = None,
    model_id: ModelIdOption = None,
    specification: SpecificationOption = None,
    instances: InstancesOption = None,
    weight: WeightOption = None,
) -> None:
    """Change a service (PUT): a body file (-f, the reference's body) and/or flags. Model
    flags change the service's one model and keep the rest of its config."""
    body = load_body(file) or {}
    entry_flags = {
        "model_id": model_id,
        "specification": specification,
        "instance_count": instances,
        "weight": weight,
    }
    if any(value is not None for value in entry_flags.values()):
        # The API replaces the whole config: start from the running one.
        current = body.get("config") or _current_config(ctx, service_id)
        body["config"] = _one_entry(current, entry_flags, "update")
    body = merge(body, {"description": description})
    if not body:
        raise fail("nothing to change: give a body (-f) or at least one flag")
    _put(ctx, service_id, body)
    printer(ctx).done(f"updating service {service_id}", {"service_id": service_id, **body})


@service_app.command("scale")
def scale(
    ctx: typer.Context,
    service_id: ServiceId,
    instances: Annotated[
        int, typer.Option("--instances", min=1, max=128, help="Instances of each model.")
    ],
    model_id: Annotated[
        str | None,
        typer.Option("--model-id", help="Scale only this model of the service (default: all)."),
    ] = None,
) -> None:
    """Set how many instances serve each model (or one --model-id) of the service."""
    config = _current_config(ctx, service_id)
    if model_id is not None and all(entry.get("model_id") != model_id for entry in config):
        raise fail(f"service {service_id} does not deploy model {model_id}")
    for entry in config:
        if model_id is None or entry.get("model_id") == model_id:
            entry["instance_count"] = instances
    _put(ctx, service_id, {"config": config})
    printer(ctx).done(
        f"scaling service {service_id} to {instances} instance(s)",
        {"service_id": service_id, "config": config},
    )


@service_app.command("stop")
def stop(ctx: typer.Context, service_id: ServiceId) -> None:
    """Stop a service: its instances go, its settings stay."""
    _put(ctx, service_id, {"status": "stopped"})
    printer(ctx).done(f"stopping service {service_id}", {"service_id": service_id})


@service_app.command("start")
def start(ctx: typer.Context, service_id: ServiceId) -> None:
    """Start a stopped (or failed) service again."""
    _put(ctx, service_id, {"status": "running"})
    printer(ctx).done(f"starting service {service_id}", {"service_id": service_id})


@service_app.command("delete")
def delete(ctx: typer.Context, service_id: ServiceId) -> None:
    """Delete a service and its instances."""
    call(ctx, "DELETE", f"{SERVICES}/{service_id}")
    printer(ctx).done(f"deleted service {service_id}", {"service_id": service_id})


def _request_body(data: str | None, file: Path | None) -> bytes:
    """The prediction request: JSON from --data or --file, checked before it is sent."""
    if (data is None) == (file is None):
        raise fail("give the request as --data JSON or --file PATH (one of them)")
    if file is not None:
        text = read_text_file(file)
        what = str(file)
    else:
        text = data or ""
        what = "--data"
    parse_json(text, what)
    return text.encode("utf-8")


def _infer_path(ctx: typer.Context, service_id: str, path: str) -> str:
    """The service's inference path on the gateway, from the address the platform gives
    it (the client's endpoint reaches the same gateway, and signs for it)."""
    address = _service(ctx, service_id).get("access_address")
    base = urlsplit(address).path if address else f"{INFER_PREFIX}/{service_id}"
    return base.rstrip("/") + "/" + path.lstrip("/")


def _error_line(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("error_code"):
        return (
            f"{answer['error_code']}: {answer.get('error_msg', '')} (HTTP {response.status_code})"
        )
    text = response.text.strip()[:500] or response.reason_phrase
    return f"HTTP {response.status_code}: {text}"


@service_app.command("predict")
def predict(
    ctx: typer.Context,
    service_id: ServiceId,
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="The request body, as JSON text.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="A file holding the request body as JSON ('-': stdin)."),
    ] = None,
    path: Annotated[
        str, typer.Option(help="The model's API path under the service's address.")
    ] = "/",
) -> None:
    """Send a prediction request to a running service and print the model's answer; an
    error answer exits 1 with its status."""
    content = _request_body(data, file)
    target = _infer_path(ctx, service_id, path)
    with reported():
        response = client(ctx).request("POST", target, raw=content)
    if response.status_code >= 400:
        raise fail(_error_line(response))
    try:
        printer(ctx).dump(response.json())
    except ValueError:
        if printer(ctx).json:
            printer(ctx).dump({"text": response.text})
        else:
            typer.echo(response.text)


@service_app.command("events")
def events(
    ctx: typer.Context,
    service_id: ServiceId,
    event_type: Annotated[str | None, typer.Option("--type", help="normal or abnormal.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
) -> None:
    """A service's events, oldest first."""
    answer = call(
        ctx,
        "GET",
        f"{SERVICES}/{service_id}/events",
        event_type=event_type,
        limit=limit,
        order="asc",
    )
    printer(ctx).rows(
        answer,
        answer.get("events", []),
        [
            ("TIME", lambda e: when(e.get("occur_time"))),
            ("TYPE", "event_type"),
            ("EVENT", "event_info"),
        ],
    )


@service_app.command("logs")
def logs(ctx: typer.Context, service_id: ServiceId) -> None:
    """A service's update log: each deployment or update, what it asked for, its result."""
    answer = call(ctx, "GET", f"{SERVICES}/{service_id}/logs")
    printer(ctx).rows(
        answer,
        answer.get("logs", []),
        [
            ("TIME", lambda log: when(log.get("update_time"))),
            ("RESULT", "result"),
            (
                "CONFIG",
                lambda log: "; ".join(
                    f"{c.get('model_name')} {c.get('model_version')} x{c.get('instance_count')}"
                    f" on {c.get('specification')} ({c.get('weight')}%)"
                    for c in log.get("config") or []
                ),
            ),
        ],
    )


@service_app.command("monitor")
def monitor(ctx: typer.Context, service_id: ServiceId) -> None:
    """Instances, calls and resource use of each model of a service."""
    answer = call(ctx, "GET", f"{SERVICES}/{service_id}/monitor")
    if not printer(ctx).json:
        out.print(
            f"{answer.get('service_name')}: "
            f"{answer.get('service_running_instance_count')}/"
            f"{answer.get('service_instance_count')} instances running, "
            f"{answer.get('req_count_per_min')} calls in the last minute"
        )
    printer(ctx).rows(
        answer,
        answer.get("monitors", []),
        [
            ("MODEL", "model_name"),
            ("VERSION", "model_version"),
            (
                "INSTANCES",
                lambda m: (
                    f"{m.get('model_running_instance_count')}/{m.get('model_instance_count')}"
                ),
            ),
            ("CALLS", "invocation_times"),
            ("FAILED", "failed_times"),
            ("CPU", lambda m: f"{m.get('cpu_core_usage')}/{m.get('cpu_core_total')}"),
            ("MEMORY (MB)", lambda m: f"{m.get('cpu_memory_usage')}/{m.get('cpu_memory_total')}"),
        ],
    )


@service_app.command("specifications")
def specifications(ctx: typer.Context) -> None:
    """The flavors services deploy on."""
    answer = call(ctx, "GET", f"{SERVICES}/specifications")
    printer(ctx).rows(
        answer,
        answer.get("specifications", []),
        [
            ("SPECIFICATION", "specification"),
            ("CPU", "cpu_info.cpu"),
            ("MEMORY", lambda s: _memory(s)),
            ("GPU", "gpu_info.gpu"),
            ("DESCRIPTION", "display_en"),
        ],
    )


def _memory(spec: dict[str, Any]) -> str:
    memory = spec.get("memory_info") or {}
    if memory.get("memory") is None:
        return ""
    return f"{memory['memory']} {memory.get('unit') or ''}".rstrip()


def describe(shown: dict[str, Any]) -> str:
    """The service's status in words: with its progress while it deploys, why it failed."""
    status = str(shown.get("status"))
    if status == "failed":
        return f"failed: {shown.get('error_msg') or 'no reason given'}"
    if status == "deploying" and shown.get("progress") is not None:
        return f"deploying ({shown['progress']}% of its instances ready)"
    return status


def _events(ctx: typer.Context, service_id: str) -> list[tuple[str, str]] | None:
    """The service's latest events, oldest first; None where the server lists none."""
    with reported():
        try:
            answer = client(ctx).call(
                "GET",
                f"{SERVICES}/{service_id}/events",
                params={"limit": 100, "order": "desc"},
            )
        except ApiError:
            return None
    listed = answer.get("events", []) if isinstance(answer, dict) else []
    return [
        (
            clock(event.get("occur_time")),
            ("Warning: " if event.get("event_type") == "abnormal" else "")
            + str(event.get("event_info") or ""),
        )
        for event in reversed(listed)
        if isinstance(event, dict)
    ]


@service_app.command("wait")
def wait(
    ctx: typer.Context,
    service_id: ServiceId,
    until: Annotated[
        str | None,
        typer.Option(
            "--for", help="Wait for this status (e.g. stopped) rather than running or failed."
        ),
    ] = None,
    timeout: HalfHourLimit = HALF_HOUR_S,
) -> None:
    """Show the service's progress until it is running (exit 0) or failed (exit 1, saying
    why): each change of status, and its events as they come. With --for, until it
    reaches that status (failed on the way exits 1). Exit 2 past --timeout."""
    known = [each.value for each in ServiceStatus if each not in UNREACHED]
    if until is not None and until not in known:
        raise fail(f"--for must be one of {', '.join(known)}, not {until!r}", code=2)
    targets = (until,) if until else SETTLED
    json_output = printer(ctx).json
    with Watch(f"service {service_id}", timeout, quiet=json_output, poll_s=POLL_S) as watch:
        shown = watch.follow(
            f"service {service_id}",
            lambda: _service(ctx, service_id),
            name=lambda seen: f"service {seen.get('service_name') or service_id}",
            describe=describe,
            events=lambda: _events(ctx, service_id),
            settled=lambda seen: str(seen.get("status")) in (*targets, "failed"),
        )
    status = str(shown.get("status"))
    if json_output:
        printer(ctx).dump(shown)
    if status == "failed" and until != "failed":
        raise fail(f"service {service_id} failed: {shown.get('error_msg') or 'no reason given'}")
