"""`openarts pool …`: dedicated resource pools (/v2/{project_id}/pools), their nodes, the
queue of work waiting in them, and their tags."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from openarts.cli.common import FileOption, body_from, call, fail, key_value, printer
from openarts.cli.output import Column, pick

pool_app = typer.Typer(
    help="Dedicated resource pools: create, scale, nodes, queue, tags.", no_args_is_help=True
)

POOLS = "/v2/{project_id}/pools"
TAGS = "/v1/{project_id}/pools"
DESCRIPTION = "os.modelarts/description"


def _counts(pool: dict[str, Any], state: str) -> int:
    entry = pick(pool, f"status.resources.{state}") or {}
    return int(entry.get("count", 0))


def _flavors(pool: dict[str, Any]) -> str:
    return ", ".join(f"{r['flavor']} x{r['count']}" for r in pick(pool, "spec.resources") or [])


def _display_name(pool: dict[str, Any]) -> Any:
    # The label's key holds dots and a slash, so it is read directly, not by a path.
    return (pick(pool, "metadata.labels") or {}).get("os.modelarts/name", "")


LIST_COLUMNS: list[Column] = [
    ("NAME", "metadata.name"),
    ("DISPLAY NAME", _display_name),
    ("STATUS", "status.phase"),
    ("RESOURCES", _flavors),
    ("AVAILABLE", lambda pool: _counts(pool, "available")),
    ("CREATING", lambda pool: _counts(pool, "creating")),
    ("ABNORMAL", lambda pool: _counts(pool, "abnormal")),
    ("CREATED", "metadata.creationTimestamp"),
]


@pool_app.command("list")
def list_pools(ctx: typer.Context) -> None:
    """The project's pools with their node counts."""
    answer = call(ctx, "GET", POOLS)
    printer(ctx).rows(answer, answer.get("items", []), LIST_COLUMNS)


@pool_app.command("show")
def show(ctx: typer.Context, name: str) -> None:
    """One pool: its spec and status."""
    pool = call(ctx, "GET", f"{POOLS}/{name}")
    printer(ctx).item(
        pool,
        [
            ("name", "metadata.name"),
            ("display name", _display_name),
            ("type", "spec.type"),
            ("scope", "spec.scope"),
            ("resources", _flavors),
            ("description", lambda p: (pick(p, "metadata.annotations") or {}).get(DESCRIPTION)),
            ("network", "spec.network.name"),
            ("status", "status.phase"),
            ("message", "status.message"),
            ("available", lambda p: _counts(p, "available")),
            ("creating", lambda p: _counts(p, "creating")),
            ("abnormal", lambda p: _counts(p, "abnormal")),
            ("created", "metadata.creationTimestamp"),
        ],
    )


@pool_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[
        str | None, typer.Option(help="Display name (label os.modelarts/name).")
    ] = None,
    flavor: Annotated[str | None, typer.Option(help="Node flavor (a pool flavor).")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Number of nodes.")] = None,
    network: Annotated[str | None, typer.Option(help="The network's name.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Train, Infer or Notebook (repeatable).")
    ] = None,
) -> None:
    """Create a dedicated pool from a body file (-f) and/or flags."""
    flags: dict[str, Any] = {
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {"labels": {"os.modelarts/name": name} if name else None},
        "spec": {
            "type": "Dedicate",
            "scope": scope,
            "resources": [{"flavor": flavor, "count": count or 1}] if flavor else None,
            "network": {"name": network} if network else None,
        },
    }
    body = body_from(file, flags, {"spec.resources": "--flavor", "spec.network.name": "--network"})
    created = call(ctx, "POST", POOLS, body)
    printer(ctx).done(
        f"created pool {created['metadata']['name']}: {pick(created, 'status.phase')}", created
    )


@pool_app.command("update")
def update(
    ctx: typer.Context,
    name: str,
    file: FileOption = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="New scope: Train, Infer, Notebook (repeatable).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Change a pool's description, scope or resources (-f holds the reference's PATCH
    body, for the labels and annotations it allows)."""
    flags: dict[str, Any] = {
        "metadata": {"annotations": {DESCRIPTION: description} if description else None},
        "spec": {"scope": scope},
    }
    body = body_from(file, flags, {})
    if not any(value for value in body.values() if value):
        raise fail("nothing to change: give -f, --scope or --description")
    answer = call(ctx, "PATCH", f"{POOLS}/{name}", body)
    printer(ctx).done(f"updated pool {name}", answer)


@pool_app.command("scale")
def scale(
    ctx: typer.Context,
    name: str,
    count: Annotated[int, typer.Option(min=0, help="The new number of nodes.")],
    flavor: Annotated[
        str | None, typer.Option(help="Which flavor's nodes (needed when there are several).")
    ] = None,
) -> None:
    """Set the number of nodes of one of the pool's flavors."""
    pool = call(ctx, "GET", f"{POOLS}/{name}")
    resources = [dict(r) for r in pick(pool, "spec.resources") or []]
    chosen = [r for r in resources if flavor in (None, r["flavor"])]
    if len(chosen) != 1:
        have = ", ".join(r["flavor"] for r in resources)
        raise fail(
            f"pool {name} has flavors {have}: name one with --flavor"
            if chosen
            else f"pool {name} has no flavor {flavor} (it has {have})"
        )
    chosen[0]["count"] = count
    chosen[0].pop("maxCount", None)
    answer = call(ctx, "PATCH", f"{POOLS}/{name}", {"spec": {"resources": resources}})
    printer(ctx).done(f"pool {name}: {chosen[0]['flavor']} x{count}", answer)


@pool_app.command("delete")
def delete(ctx: typer.Context, name: str) -> None:
    """Delete a pool (its nodes go back to the public pool)."""
    call(ctx, "DELETE", f"{POOLS}/{name}")
    printer(ctx).done(f"deleting pool {name}")


@pool_app.command("nodes")
def nodes(ctx: typer.Context, name: str) -> None:
    """The pool's nodes, their flavor, state and address."""
    answer = call(ctx, "GET", f"{POOLS}/{name}/nodes")
    printer(ctx).rows(
        answer,
        answer.get("items", []),
        [
            ("NODE", "metadata.name"),
            ("FLAVOR", "spec.flavor"),
            ("STATUS", "status.phase"),
            ("ADDRESS", "status.privateIp"),
            ("CREATED", "metadata.creationTimestamp"),
        ],
    )


@pool_app.command("queue")
def queue(ctx: typer.Context, name: str) -> None:
    """The work in the pool: what runs, and what waits with its place in the queue."""
    answer = call(ctx, "GET", f"{POOLS}/{name}/workloads")
    printer(ctx).rows(
        answer,
        answer.get("items", []),
        [
            ("TYPE", "type"),
            ("JOB", "jobName"),
            ("STATUS", "status"),
            ("POSITION", "pendingPosition"),
            ("PRIORITY", "priority"),
            ("WAITED (s)", "pendingDuration"),
            ("RAN (s)", "runningDuration"),
            ("NEEDS", "resourceRequirement"),
        ],
    )


def _res(key: str) -> Any:
    return lambda p: ", ".join(f"{k} {v}" for k, v in (p.get(key) or {}).items())


@pool_app.command("public")
def public(ctx: typer.Context) -> None:
    """The public pool: what its hosts have and it promises, what is used, and this
    project's work in it (what runs, and what waits, with its place and why)."""
    answer = call(ctx, "GET", "/v2/{project_id}/public-pool")
    if not printer(ctx).json:
        printer(ctx).item(
            answer,
            [
                ("hosts", _res("hosts")),
                ("capacity", _res("capacity")),
                ("cpu share", "cpu_share"),
                ("used", _res("used")),
                ("free", _res("free")),
                ("running", "running"),
                ("waiting", "waiting"),
                ("others' running", "others_running"),
                ("others' waiting", "others_waiting"),
            ],
        )
    printer(ctx).rows(
        answer,
        answer.get("items", []),
        [
            ("WORK", "name"),
            ("STATUS", "status"),
            ("POSITION", "position"),
            ("HOLDS", lambda e: ", ".join(f"{k} {v}" for k, v in e["resources"].items())),
            ("WHY IT WAITS", "reason"),
        ],
    )


@pool_app.command("tags")
def tags(ctx: typer.Context, name: str) -> None:
    """The pool's tags."""
    answer = call(ctx, "GET", f"{TAGS}/{name}/tags")
    printer(ctx).rows(answer, answer.get("tags", []), [("KEY", "key"), ("VALUE", "value")])


@pool_app.command("tag")
def tag(
    ctx: typer.Context,
    name: str,
    pairs: Annotated[list[str], typer.Argument(help="KEY=VALUE tags to add or change.")],
) -> None:
    """Add or change tags."""
    body = {"tags": [{"key": k, "value": v} for k, v in key_value(pairs, "a tag").items()]}
    call(ctx, "POST", f"{TAGS}/{name}/tags/create", body)
    printer(ctx).done(f"tagged pool {name}", body)


@pool_app.command("untag")
def untag(
    ctx: typer.Context,
    name: str,
    keys: Annotated[list[str], typer.Argument(help="Keys of the tags to remove.")],
) -> None:
    """Remove tags by key."""
    body = {"tags": [{"key": key} for key in keys]}
    call(ctx, "DELETE", f"{TAGS}/{name}/tags/delete", body)
    printer(ctx).done(f"untagged pool {name}", body)


@pool_app.command("flavors")
def flavors(ctx: typer.Context) -> None:
    """The flavors pools can be made of."""
    answer = call(ctx, "GET", "/v1/{project_id}/resourceflavors")
    printer(ctx).rows(
        answer,
        answer.get("items", []),
        [
            ("FLAVOR", "metadata.name"),
            ("TYPE", "spec.type"),
            ("CPU", "spec.cpu"),
            ("MEMORY", "spec.memory"),
            ("GPU", "spec.gpu"),
        ],
    )
