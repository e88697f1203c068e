"""`openarts image …`: notebook images (/v1/{project_id}/images): the preset ones, those
registered from a registry path, and those saved from a running notebook."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from openarts.cli import image_registry
from openarts.cli.common import FileOption, body_from, call, printer
from openarts.cli.output import Column, out, when

image_app = typer.Typer(
    help="Images: list, show, register, delete; push to and pull from the platform's registry.",
    no_args_is_help=True,
)
image_app.command("login")(image_registry.login)
image_app.command("push")(image_registry.push)
image_app.command("pull")(image_registry.pull)

IMAGES = "/v1/{project_id}/images"

LIST_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("TAG", "tag"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("SERVICE", "service_type"),
    ("SWR PATH", "swr_path"),
    ("CREATED", lambda image: when(image.get("create_at"))),
]
SHOW_COLUMNS: list[Column] = [
    ("id", "id"),
    ("name", "name"),
    ("tag", "tag"),
    ("namespace", "namespace"),
    ("type", "type"),
    ("origin", "origin"),
    ("status", "status"),
    ("status message", "status_message"),
    ("service type", "service_type"),
    ("services", "dev_services"),
    ("resource categories", "resource_categories"),
    ("arch", "arch"),
    ("visibility", "visibility"),
    ("swr path", "swr_path"),
    ("size (KB)", "size"),
    ("workspace", "workspace_id"),
    ("description", "description"),
    ("created", lambda image: when(image.get("create_at"))),
    ("updated", lambda image: when(image.get("update_at"))),
]


@image_app.command("list")
def list_images(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option(help="Images whose name contains this (lower case).")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="--name must match the whole name.")
    ] = False,
    type: Annotated[
        str | None, typer.Option("--type", help="BUILD_IN (preset) or DEDICATED (yours).")
    ] = None,
    service_type: Annotated[
        str | None,
        typer.Option(help="COMMON, INFERENCE, TRAIN, DEV or UNKNOWN."),
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="SWR organisation.")] = None,
    workspace_id: Annotated[str | None, typer.Option(help="Workspace ID.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 200,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Images notebooks can start from, newest first."""
    query: dict[str, Any] = {
        "name": name,
        "name_fuzzy_match": "false" if exact else None,
        "type": type,
        "service_type": service_type,
        "namespace": namespace,
        "workspace_id": workspace_id,
        "limit": limit,
        "offset": offset,
    }
    answer = call(ctx, "GET", IMAGES, **{k: v for k, v in query.items() if v is not None})
    printer(ctx).rows(answer, answer.get("data", []), LIST_COLUMNS)


@image_app.command("groups")
def groups(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Names containing this.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="BUILD_IN (preset) or DEDICATED (yours).")
    ] = None,
) -> None:
    """Images grouped by name: how many tags each has."""
    query = {key: value for key, value in {"name": name, "type": type}.items() if value}
    answer = call(ctx, "GET", f"{IMAGES}/group", **query)
    printer(ctx).rows(
        answer,
        answer.get("data", []),
        [
            ("NAME", "name"),
            ("NAMESPACE", "namespace"),
            ("VERSIONS", "version_count"),
            ("UPDATED", lambda group: when(group.get("update_at"))),
        ],
    )


@image_app.command("show")
def show(ctx: typer.Context, image_id: Annotated[str, typer.Argument(help="Image ID.")]) -> None:
    """One image: where it comes from, its status and what it serves."""
    printer(ctx).item(call(ctx, "GET", f"{IMAGES}/{image_id}"), SHOW_COLUMNS)


def _upper_list(items: list[str] | None) -> list[str] | None:
    return [item.upper() for item in items] if items else None


@image_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    swr_path: Annotated[
        str | None,
        typer.Option(help="registry/organisation/name:tag of the image (swr_path)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the image holds.")] = None,
    arch: Annotated[str | None, typer.Option(help="X86_64 (default) or AARCH64.")] = None,
    service_type: Annotated[
        str | None, typer.Option(help="COMMON, INFERENCE, TRAIN, DEV or UNKNOWN.")
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", help="NOTEBOOK or SSH (repeatable; default both)."),
    ] = None,
    resource_category: Annotated[
        list[str] | None,
        typer.Option("--resource-category", help="CPU, GPU or ASCEND (repeatable)."),
    ] = None,
    visibility: Annotated[str | None, typer.Option(help="PRIVATE (default) or PUBLIC.")] = None,
    workspace_id: Annotated[str | None, typer.Option(help="Workspace ID.")] = None,
) -> None:
    """Register a custom image from a body file (-f, the reference's body) and/or flags."""
    flags: dict[str, Any] = {
        "swr_path": swr_path,
        "description": description,
        "arch": arch,
        "service_type": service_type,
        "services": _upper_list(service),
        "resource_category": _upper_list(resource_category),
        "visibility": visibility,
        "workspace_id": workspace_id,
    }
    body = body_from(file, flags, {"swr_path": "--swr-path"})
    created = call(ctx, "POST", IMAGES, body)
    if printer(ctx).json:
        printer(ctx).dump(created)
    else:
        out.print(
            f"registered image {created.get('id')} "
            f"({created.get('name')}:{created.get('tag')}): {created.get('status')}"
        )


@image_app.command("delete")
def delete(
    ctx: typer.Context,
    image_id: Annotated[str, typer.Argument(help="Image ID.")],
    force: Annotated[
        bool, typer.Option("--force", help="Also delete the registry's content (private only).")
    ] = False,
) -> None:
    """Delete one of your images (not a preset one, nor one a notebook uses)."""
    answer = call(ctx, "DELETE", f"{IMAGES}/{image_id}", **({"force": "true"} if force else {}))
    printer(ctx).done(f"deleted image {image_id}", answer)
