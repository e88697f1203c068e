"""`openarts model …`: models (/v1/{project_id}/models) and the runtimes they serve in."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from openarts.cli.common import FileOption, body_from, call, fail, printer
from openarts.cli.output import Column, err, error_line, out, when
from openarts.cli.watch import Watch

model_app = typer.Typer(
    help="Models: import from OBS, list versions, show, delete.", no_args_is_help=True
)

MODELS = "/v1/{project_id}/models"
# Statuses a model leaves no more on its own.
FINAL_STATUSES = {"published", "failed", "building_failed"}
# How often --wait asks; importing a model takes seconds.
POLL_S = 0.5

LIST_COLUMNS: list[Column] = [
    ("ID", "model_id"),
    ("NAME", "model_name"),
    ("VERSION", "model_version"),
    ("TYPE", "model_type"),
    ("STATUS", "model_status"),
    ("SIZE", "model_size"),
    ("CREATED", lambda m: when(m.get("create_at"))),
]
SHOW_COLUMNS: list[Column] = [
    ("id", "model_id"),
    ("name", "model_name"),
    ("version", "model_version"),
    ("type", "model_type"),
    ("status", "model_status"),
    ("runtime", "runtime"),
    ("algorithm", "model_algorithm"),
    ("source", "source_location"),
    ("description", "description"),
    ("install types", lambda m: ", ".join(m.get("install_type") or [])),
    ("size (bytes)", "model_size"),
    ("image", "image_address"),
    ("created", lambda m: when(m.get("create_at"))),
]

NameFilter = Annotated[str | None, typer.Option("--name", help="Models whose name contains this.")]


def _list(ctx: typer.Context, **query: Any) -> None:
    answer = call(ctx, "GET", MODELS, **query)
    printer(ctx).rows(answer, answer.get("models", []), LIST_COLUMNS)


@model_app.command("list")
def list_models(
    ctx: typer.Context,
    name: NameFilter = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="--name is the whole name, not a part of it.")
    ] = False,
    version: Annotated[str | None, typer.Option(help="Only this version (x.y.z).")] = None,
    status: Annotated[
        str | None,
        typer.Option(help="publishing, published, failed, building or building_failed."),
    ] = None,
    model_type: Annotated[
        str | None, typer.Option("--type", help="Only this model type (e.g. PyTorch).")
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="Models whose description contains this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Models of the project, newest first."""
    _list(
        ctx,
        model_name=name,
        exact_match="true" if exact else None,
        model_version=version,
        model_status=status,
        model_type=model_type,
        description=description,
        limit=limit,
        offset=offset,
    )


@model_app.command("versions")
def versions(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The model's name.")]
) -> None:
    """Every version of one model name, highest first."""
    _list(ctx, model_name=name, exact_match="true", sort_by="model_version", order="desc")


@model_app.command("show")
def show(ctx: typer.Context, model_id: Annotated[str, typer.Argument(help="Model ID.")]) -> None:
    """One model: status, type, runtime, where it came from."""
    printer(ctx).item(_model(ctx, model_id), SHOW_COLUMNS)


def _model(ctx: typer.Context, model_id: str) -> dict[str, Any]:
    model: dict[str, Any] = call(ctx, "GET", f"{MODELS}/{model_id}")
    return model


def _wait_published(ctx: typer.Context, model_id: str, timeout: float) -> dict[str, Any]:
    with Watch(f"model {model_id}", timeout, quiet=printer(ctx).json, poll_s=POLL_S) as watch:
        while True:
            model = _model(ctx, model_id)
            status = model.get("model_status")
            watch.state(str(status))
            if status in FINAL_STATUSES:
                if status != "published":
                    raise fail(f"model {model_id} ended {status}: see `openarts event list`")
                return model
            if watch.overdue:
                raise fail(f"model {model_id} still {status} after {timeout:g} s", code=2)
            watch.pause()


@model_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[str | None, typer.Option(help="model_name")] = None,
    version: Annotated[str | None, typer.Option(help="model_version, x.y.z (e.g. 1.0.0).")] = None,
    source_location: Annotated[
        str | None,
        typer.Option(
            help="The model folder in OBS (obs://bucket/path/), or for model_type Image a "
            "container image (swr.<region>.myhuaweicloud.com/<namespace>/<name>:<tag>)."
        ),
    ] = None,
    model_type: Annotated[
        str | None,
        typer.Option(help="model_type: TensorFlow, PyTorch, Scikit_Learn, Image, Custom, …"),
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(help="Runtime to serve in (see `openarts model runtimes`).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="description")] = None,
    cmd: Annotated[
        str | None,
        typer.Option(help="model_type Image: the command that serves on port 8080."),
    ] = None,
    source_copy: Annotated[
        str | None,
        typer.Option(
            help="An image model: true copies and pins the image (the default), false runs "
            "its tag as it is at each start."
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once the model is published (exit 1 if not).")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="With --wait: give up after this many seconds (exit 2).")
    ] = 600,
) -> None:
    """Import a model from a body file (-f, the reference's body) and/or flags."""
    flags: dict[str, Any] = {
        "model_name": name,
        "model_version": version,
        "source_location": source_location,
        "model_type": model_type,
        "runtime": runtime,
        "description": description,
        "cmd": cmd,
        "source_copy": source_copy,
    }
    body = body_from(
        file,
        flags,
        {"model_name": "--name", "model_version": "--version", "model_type": "--model-type"},
    )
    created = call(ctx, "POST", MODELS, body)
    model_id = created["model_id"]
    if wait:
        model = _wait_published(ctx, model_id, timeout)
        if printer(ctx).json:
            printer(ctx).dump(model)
        else:
            out.print(f"model {model_id} ({body['model_name']} {body['model_version']}) published")
        return
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        out.print(f"created model {model_id} ({body['model_name']} {body['model_version']})")


@model_app.command("delete")
def delete(
    ctx: typer.Context,
    model_id: Annotated[str, typer.Argument(help="Model ID.")],
    cascade: Annotated[
        bool, typer.Option("--cascade", help="Also delete the other versions of its name.")
    ] = False,
) -> None:
    """Delete a model (refused while a service uses it)."""
    answer = call(ctx, "DELETE", f"{MODELS}/{model_id}", cascade="true" if cascade else None)
    failed = answer.get("delete_failed_list") or []
    deleted = answer.get("delete_success_list") or []
    if printer(ctx).json:
        printer(ctx).dump(answer)
    else:
        for gone in deleted:
            out.print(f"deleted model {gone}")
    # The API answers 200 even when nothing could be deleted; the reasons are in the list.
    if failed:
        for failure in failed:
            err.print(
                error_line(
                    f"model {failure.get('model_id')}: "
                    f"{failure.get('error_code')}: {failure.get('error_msg')}"
                )
            )
        raise typer.Exit(1)


@model_app.command("runtimes")
def runtimes(ctx: typer.Context) -> None:
    """The AI engines and the runtimes models can name."""
    answer = call(ctx, "GET", f"{MODELS}/ai-engine-runtimes")
    rows = [
        {"engine": engine.get("ai_engine"), "runtime": name, "mode": _nth(modes, index)}
        for engine in answer.get("engine_runtimes", [])
        for modes in [engine.get("request_mode") or []]
        for index, name in enumerate(engine.get("runtimes") or [])
    ]
    printer(ctx).rows(
        answer, rows, [("ENGINE", "engine"), ("RUNTIME", "runtime"), ("MODE", "mode")]
    )


def _nth(values: list[str], index: int) -> str:
    # The lists run in parallel with the runtimes; a short one must not drop runtimes.
    return values[index] if index < len(values) else ""
