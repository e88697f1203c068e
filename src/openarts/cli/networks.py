"""`openarts network …`: the networks dedicated pools are created in
(/v1/{project_id}/networks). Creating, changing and deleting one needs an administrator."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from openarts.cli.common import FileOption, body_from, call, fail, printer
from openarts.cli.output import Column, out, pick

network_app = typer.Typer(
    help="Networks of dedicated pools: create, update, delete.", no_args_is_help=True
)

NETWORKS = "/v1/{project_id}/networks"
# Label and annotation keys hold dots and a slash, so they are read directly, not by path.
NAME_LABEL = "os.modelarts/name"
WORKSPACE_LABEL = "os.modelarts/workspace.id"
DESCRIPTION = "os.modelarts/description"

NameArgument = Annotated[
    str, typer.Argument(help="The network's name as the API gives it (NAME in `network list`).")
]


def _label(key: str) -> Any:
    return lambda network: (pick(network, "metadata.labels") or {}).get(key, "")


def _annotation(key: str) -> Any:
    return lambda network: (pick(network, "metadata.annotations") or {}).get(key, "")


LIST_COLUMNS: list[Column] = [
    ("NAME", "metadata.name"),
    ("DISPLAY NAME", _label(NAME_LABEL)),
    ("CIDR", "spec.cidr"),
    ("STATUS", "status.phase"),
    ("IPV6", lambda network: bool(pick(network, "spec.ipv6enable"))),
    ("CREATED", "metadata.creationTimestamp"),
]
SHOW_COLUMNS: list[Column] = [
    ("name", "metadata.name"),
    ("display name", _label(NAME_LABEL)),
    ("description", _annotation(DESCRIPTION)),
    ("workspace", _label(WORKSPACE_LABEL)),
    ("cidr", "spec.cidr"),
    ("ipv6", lambda network: bool(pick(network, "spec.ipv6enable"))),
    ("status", "status.phase"),
    ("created", "metadata.creationTimestamp"),
]


@network_app.command("list")
def list_networks(
    ctx: typer.Context,
    workspace_id: Annotated[str | None, typer.Option(help="Only this workspace's.")] = None,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Label selector, e.g. 'os.modelarts/name=net-a'."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=500, help="At most this many.")] = None,
) -> None:
    """The project's networks."""
    answer = call(
        ctx, "GET", NETWORKS, workspaceId=workspace_id, labelSelector=selector, limit=limit
    )
    printer(ctx).rows(answer, answer.get("items", []), LIST_COLUMNS)


@network_app.command("show")
def show(ctx: typer.Context, name: NameArgument) -> None:
    """One network: its address block and status."""
    printer(ctx).item(call(ctx, "GET", f"{NETWORKS}/{name}"), SHOW_COLUMNS)


@network_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[
        str | None, typer.Option(help="Display name (4 to 32 characters; the API adds a suffix).")
    ] = None,
    cidr: Annotated[
        str | None, typer.Option(help="Address block, e.g. 192.168.128.0/17 (see allowed ranges).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the network is for.")] = None,
    workspace_id: Annotated[str | None, typer.Option(help="Workspace ID.")] = None,
    ipv6: Annotated[
        bool | None, typer.Option("--ipv6/--no-ipv6", help="Enable IPv6 (cannot be undone).")
    ] = None,
) -> None:
    """Create a network from a body file (-f, the reference's body) and/or flags."""
    flags: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Network",
        "metadata": {
            "labels": {NAME_LABEL: name, WORKSPACE_LABEL: workspace_id},
            "annotations": {DESCRIPTION: description},
        },
        "spec": {"cidr": cidr, "ipv6enable": ipv6},
    }
    body = body_from(file, flags, {})
    # The name label's key holds dots, so a dotted path cannot name it.
    missing = [
        need
        for need, given in (
            (f"--name (metadata.labels {NAME_LABEL})", _label(NAME_LABEL)(body)),
            ("--cidr (spec.cidr)", pick(body, "spec.cidr")),
        )
        if not given
    ]
    if missing:
        raise fail(f"missing {', '.join(missing)}: give them as flags or in the file (-f)")
    created = call(ctx, "POST", NETWORKS, body)
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        out.print(
            f"created network {pick(created, 'metadata.name')} "
            f"({pick(created, 'spec.cidr')}): {pick(created, 'status.phase')}"
        )


@network_app.command("update")
def update(
    ctx: typer.Context,
    name: NameArgument,
    file: FileOption = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    workspace_id: Annotated[str | None, typer.Option(help="Move it to this workspace.")] = None,
    ipv6: Annotated[
        bool | None, typer.Option("--ipv6", help="Enable IPv6 (cannot be undone).")
    ] = None,
) -> None:
    """Change a network's description, workspace or IPv6 (-f: the reference's PATCH body)."""
    flags: dict[str, Any] = {
        "metadata": {
            "labels": {WORKSPACE_LABEL: workspace_id},
            "annotations": {DESCRIPTION: description},
        },
        "spec": {"ipv6enable": ipv6},
    }
    body = body_from(file, flags, {})
    if not body:
        raise fail("nothing to change: give --description, --workspace-id, --ipv6 or -f")
    answer = call(ctx, "PATCH", f"{NETWORKS}/{name}", body)
    printer(ctx).done(f"updated network {name}", answer)


@network_app.command("delete")
def delete(ctx: typer.Context, name: NameArgument) -> None:
    """Delete a network no pool uses."""
    answer = call(ctx, "DELETE", f"{NETWORKS}/{name}")
    printer(ctx).done(f"deleted network {name}", answer)
