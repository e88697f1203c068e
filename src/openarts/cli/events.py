"""`openarts event …`: events of the project's pools and networks (GET
/v1/{project_id}/events). The API answers for one resource at a time; without --name the
CLI asks for each resource of the kind and merges the answers."""

from __future__ import annotations

import re
import time
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from openarts.cli.common import call, fail, printer
from openarts.cli.output import Column, pick

event_app = typer.Typer(help="Events of pools and networks.", no_args_is_help=True)

EVENTS = "/v1/{project_id}/events"
# Where to find the resources of each kind, for `list` without --name.
LISTS = {"pools": "/v2/{project_id}/pools", "networks": "/v1/{project_id}/networks"}
# The most one request answers.
PAGE = 500
_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Resource(StrEnum):
    POOLS = "pools"
    NETWORKS = "networks"


class Level(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


COLUMNS: list[Column] = [
    ("LAST SEEN", "lastTimestamp"),
    ("TYPE", "type"),
    ("RESOURCE", lambda event: f"{event.get('resource', '')}/{event.get('name', '')}"),
    ("REASON", "reason"),
    ("COUNT", "count"),
    ("MESSAGE", "message"),
]


def epoch_ms(text: str | None, option: str) -> int | None:
    """A moment as epoch milliseconds: '30m', '2h', '1d' (that long ago), an ISO date or
    time (local unless it says otherwise), or epoch seconds or milliseconds."""
    if text is None:
        return None
    text = text.strip()
    ago = _AGO.match(text)
    if ago:
        return round((time.time() - float(ago[1]) * _UNIT_S[ago[2]]) * 1000)
    if text.isascii() and text.isdigit():
        # Below 10^11 it is seconds (10^11 s is the year 5138), as the API reads it.
        return int(text) * 1000 if int(text) < 10**11 else int(text)
    try:
        return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise fail(
            f"{option} must be a time such as 2h (ago), 2025-05-08T10:00:00 or epoch "
            f"seconds, not {text!r}"
        ) from None


def _names(ctx: typer.Context, resource: Resource) -> list[str]:
    answer = call(ctx, "GET", LISTS[resource.value])
    return [str(pick(item, "metadata.name")) for item in answer.get("items", [])]


def _events_of(
    ctx: typer.Context, resource: Resource, name: str, query: dict[str, Any]
) -> dict[str, Any]:
    answer: dict[str, Any] = call(ctx, "GET", EVENTS, resource=resource.value, name=name, **query)
    for item in answer.get("items", []):
        item["resource"], item["name"] = resource.value, name
    return answer


@event_app.command("list")
def list_events(
    ctx: typer.Context,
    resource: Annotated[
        Resource | None,
        typer.Option("--resource", "-r", help="Kind of resource (default: every kind)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="One resource's name (NAME in its list); needs -r."),
    ] = None,
    level: Annotated[
        Level | None, typer.Option("--type", "--level", help="Only Normal or Warning events.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time: 2h (ago), an ISO time or epoch seconds.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this time: 10m (ago), an ISO time or epoch seconds.")
    ] = None,
    ascending: Annotated[bool, typer.Option("--asc", help="Oldest first.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=PAGE, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Events of the project's pools and networks, newest first; -r and -n narrow them to
    one kind or one resource."""
    if name and resource is None:
        raise fail("--name needs --resource (pools or networks): names are per kind")
    query: dict[str, Any] = {
        "type": level.value if level else None,
        "since": epoch_ms(since, "--since"),
        "until": epoch_ms(until, "--until"),
        "ascend": "true" if ascending else None,
    }
    if resource is not None and name:
        answer = _events_of(ctx, resource, name, {**query, "limit": limit, "offset": offset})
        printer(ctx).rows(answer, answer.get("items", []), COLUMNS)
        return
    items: list[dict[str, Any]] = []
    for kind in [resource] if resource else list(Resource):
        for each in _names(ctx, kind):
            items += _events_of(ctx, kind, each, {**query, "limit": PAGE}).get("items", [])
    # ISO times of one format sort as text.
    items.sort(key=lambda event: str(event.get("lastTimestamp")), reverse=not ascending)
    page = items[offset : offset + limit]
    printer(ctx).rows(
        {"apiVersion": "v1", "kind": "EventList", "items": page, "total": len(items)},
        page,
        COLUMNS,
    )
