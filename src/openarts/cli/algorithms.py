"""`openarts algorithm …`: training algorithms (/v2/{project_id}/algorithms)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from openarts.cli.common import (
    FileOption,
    body_from,
    call,
    fail,
    key_value,
    load_body,
    merge,
    printer,
)
from openarts.cli.output import Column, out, when

algorithm_app = typer.Typer(
    help="Training algorithms: code, engine and hyperparameters that jobs reuse.",
    no_args_is_help=True,
)

ALGORITHMS = "/v2/{project_id}/algorithms"

LIST_COLUMNS: list[Column] = [
    ("ID", "metadata.id"),
    ("NAME", "metadata.name"),
    ("ENGINE", lambda a: _engine(a)),
    ("BOOT", lambda a: _code(a)),
    ("DESCRIPTION", "metadata.description"),
    ("CREATED", lambda a: when(a.get("metadata", {}).get("create_time"))),
]
SHOW_COLUMNS: list[Column] = [
    ("id", "metadata.id"),
    ("name", "metadata.name"),
    ("description", "metadata.description"),
    ("code_dir", "job_config.code_dir"),
    ("boot_file", "job_config.boot_file"),
    ("command", "job_config.command"),
    ("engine", lambda a: _engine(a)),
    (
        "parameters",
        lambda a: ", ".join(
            f"{p.get('name')}={p.get('value', '')}"
            for p in (a.get("job_config") or {}).get("parameters") or []
        ),
    ),
    ("inputs", lambda a: _names(a, "inputs")),
    ("outputs", lambda a: _names(a, "outputs")),
    ("created", lambda a: when(a.get("metadata", {}).get("create_time"))),
    ("updated", lambda a: when(a.get("metadata", {}).get("update_time"))),
]

# The job_config fields a request may carry (answers add code_tree, which a PUT refuses to
# take back as input).
_JOB_CONFIG_FIELDS = (
    "code_dir",
    "boot_file",
    "command",
    "parameters",
    "inputs",
    "outputs",
    "engine",
    "parameters_customization",
)

NameOption = Annotated[str | None, typer.Option("--name", help="metadata.name")]
DescriptionOption = Annotated[
    str | None, typer.Option("--description", help="metadata.description")
]
CodeDirOption = Annotated[
    str | None, typer.Option("--code-dir", help="Code folder in OBS, obs://bucket/path/.")
]
BootFileOption = Annotated[
    str | None,
    typer.Option("--boot-file", help="Boot file inside the code folder, obs://bucket/path/x.py."),
]
CommandOption = Annotated[
    str | None, typer.Option("--command", help="A command to run instead of a boot file.")
]
EngineOption = Annotated[
    str | None, typer.Option("--engine-id", help="Engine ID (see `openarts job engines`).")
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", help="Hyperparameter NAME=VALUE, its default (repeatable)."),
]


def _engine(algorithm: dict[str, Any]) -> str:
    engine = (algorithm.get("job_config") or {}).get("engine") or {}
    return str(
        engine.get("engine_id") or engine.get("image_url") or engine.get("engine_name") or ""
    )


def _code(algorithm: dict[str, Any]) -> str:
    config = algorithm.get("job_config") or {}
    return str(config.get("boot_file") or config.get("command") or "")


def _names(algorithm: dict[str, Any], key: str) -> str:
    return ", ".join(str(c.get("name")) for c in (algorithm.get("job_config") or {}).get(key) or [])


def _parameters(
    current: list[dict[str, Any]] | None, given: dict[str, str]
) -> list[dict[str, Any]] | None:
    """The parameter list with each given NAME=VALUE set (a new name is appended); None
    when nothing is given, so the body's list is left alone."""
    if not given:
        return None
    merged = [dict(p) for p in current or []]
    for name, value in given.items():
        found = next((p for p in merged if p.get("name") == name), None)
        if found is None:
            merged.append({"name": name, "value": value})
        else:
            found["value"] = value
    return merged


def _section(body: dict[str, Any], key: str) -> dict[str, Any]:
    section = body.get(key)
    return section if isinstance(section, dict) else {}


def _job_config_flags(
    code_dir: str | None,
    boot_file: str | None,
    command: str | None,
    engine_id: str | None,
) -> dict[str, Any]:
    return {
        "code_dir": code_dir,
        "boot_file": boot_file,
        "command": command,
        "engine": {"engine_id": engine_id} if engine_id else None,
    }


@algorithm_app.command("list")
def list_algorithms(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Algorithms whose name contains this.")] = None,
    sort_by: Annotated[str, typer.Option(help="create_time, update_time or name.")] = "create_time",
    order: Annotated[str, typer.Option(help="asc or desc.")] = "desc",
    limit: Annotated[int, typer.Option(min=1, max=50, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Algorithms of the project, newest first."""
    answer = call(
        ctx,
        "GET",
        ALGORITHMS,
        searches=f"name:{name}" if name else None,
        sort_by=sort_by,
        order=order,
        limit=limit,
        offset=offset,
    )
    printer(ctx).rows(answer, answer.get("items", []), LIST_COLUMNS)


@algorithm_app.command("show")
def show(
    ctx: typer.Context, algorithm_id: Annotated[str, typer.Argument(help="Algorithm ID.")]
) -> None:
    """One algorithm: its code, engine, hyperparameters and channels."""
    printer(ctx).item(call(ctx, "GET", f"{ALGORITHMS}/{algorithm_id}"), SHOW_COLUMNS)


@algorithm_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: NameOption = None,
    description: DescriptionOption = None,
    code_dir: CodeDirOption = None,
    boot_file: BootFileOption = None,
    command: CommandOption = None,
    engine_id: EngineOption = None,
    param: ParamOption = None,
) -> None:
    """Create an algorithm from a body file (-f, the reference's body) and/or flags."""
    given = key_value(param, "--param")
    base = load_body(file) or {}
    flags: dict[str, Any] = {
        "metadata": {"name": name, "description": description},
        "job_config": {
            **_job_config_flags(code_dir, boot_file, command, engine_id),
            "parameters": _parameters(_section(base, "job_config").get("parameters"), given),
        },
    }
    # The file is read here rather than by body_from: --param merges into its parameters.
    body = body_from(None, merge(base, flags), {"metadata.name": "--name"})
    created = call(ctx, "POST", ALGORITHMS, body)
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        meta = created["metadata"]
        out.print(f"created algorithm {meta['id']} ({meta['name']})")


def _editable(current: dict[str, Any], section: str) -> dict[str, Any]:
    """A section of the stored algorithm as a request may send it back."""
    if section == "metadata":
        meta = current.get("metadata") or {}
        return {k: meta[k] for k in ("name", "description") if meta.get(k) is not None}
    config = current.get("job_config") or {}
    return {k: config[k] for k in _JOB_CONFIG_FIELDS if config.get(k) is not None}


@algorithm_app.command("update")
def update(
    ctx: typer.Context,
    algorithm_id: Annotated[str, typer.Argument(help="Algorithm ID.")],
    file: FileOption = None,
    name: NameOption = None,
    description: DescriptionOption = None,
    code_dir: CodeDirOption = None,
    boot_file: BootFileOption = None,
    command: CommandOption = None,
    engine_id: EngineOption = None,
    param: ParamOption = None,
) -> None:
    """Change an algorithm (PUT). A section in the -f body replaces the stored one; flags
    change single fields and keep the rest of their section as it is."""
    given = key_value(param, "--param")
    body = load_body(file) or {}
    meta_flags = {"name": name, "description": description}
    job_flags = _job_config_flags(code_dir, boot_file, command, engine_id)
    touches_meta = any(v is not None for v in meta_flags.values())
    touches_job = bool(given) or any(v is not None for v in job_flags.values())
    if not body and not touches_meta and not touches_job:
        raise fail("nothing to change: give a body (-f) or at least one flag")
    if touches_meta or touches_job:
        # Flags change fields, but the API replaces whole sections: start from what is stored.
        current = call(ctx, "GET", f"{ALGORITHMS}/{algorithm_id}")
        for section, touched in (("metadata", touches_meta), ("job_config", touches_job)):
            if touched and not isinstance(body.get(section), dict):
                body[section] = _editable(current, section)
    if touches_job:
        job_flags["parameters"] = _parameters(body["job_config"].get("parameters"), given)
    body = merge(body, {"metadata": meta_flags, "job_config": job_flags})
    answer = call(ctx, "PUT", f"{ALGORITHMS}/{algorithm_id}", body)
    printer(ctx).done(f"updated algorithm {algorithm_id}", answer)


@algorithm_app.command("delete")
def delete(
    ctx: typer.Context, algorithm_id: Annotated[str, typer.Argument(help="Algorithm ID.")]
) -> None:
    """Delete an algorithm (refused while a job that uses it has not ended)."""
    call(ctx, "DELETE", f"{ALGORITHMS}/{algorithm_id}")
    printer(ctx).done(f"deleted algorithm {algorithm_id}")
