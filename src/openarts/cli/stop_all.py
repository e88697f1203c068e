"""`openarts stop --all`: stop everything that runs, in every project the caller's
credentials reach (IAM's project list; the current project alone where that list is not
open to them): notebooks are stopped, services set to stopped, training jobs terminated.
It lists what it will stop and asks first; --yes does not ask."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer

from openarts.cli.api_client import ApiClient, ApiError
from openarts.cli.common import client, fail, printer, reported
from openarts.cli.output import Column, err, out

# What runs (or is on its way to running) and can be stopped, per kind, as the API names
# the statuses.
NOTEBOOK_STATUSES = ("RUNNING", "CREATING", "STARTING")
SERVICE_STATUSES = ("running", "deploying", "concerning")
JOB_PHASES = ["Creating", "Pending", "Running", "Abnormal"]
# The largest pages the APIs answer.
NOTEBOOK_PAGE = 1000  # services' too
JOB_PAGE = 50

COLUMNS: list[Column] = [
    ("PROJECT", "project"),
    ("KIND", "kind"),
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
]


@dataclass
class Running:
    """One thing that runs, and where."""

    project: str
    project_id: str
    kind: str
    id: str
    name: str
    status: str


def _pages(fetch: Callable[[int], list[dict[str, Any]]], size: int) -> Iterator[dict[str, Any]]:
    """Every item of a listing, page after page (``fetch`` takes the offset)."""
    offset = 0
    while True:
        page = fetch(offset)
        yield from page
        if len(page) < size:
            return
        offset += size


def _listing(api: ApiClient, path: str, key: str, status: str, size: int) -> Iterator[Any]:
    """Every item of a GET listing in one status."""

    def page(offset: int) -> list[dict[str, Any]]:
        params = {"status": status, "limit": size, "offset": offset}
        items: list[dict[str, Any]] = api.call("GET", path, params=params).get(key, [])
        return items

    return _pages(page, size)


def _listed(
    api: ApiClient, project: str, kind: str, path: str, key: str, statuses: tuple[str, ...]
) -> Iterator[Running]:
    """The notebooks or services in ``statuses`` (their lists share a shape but for the
    names of the ID and name fields)."""
    id_key, name_key = ("id", "name") if kind == "notebook" else ("service_id", "service_name")
    for status in statuses:
        for item in _listing(api, path, key, status, NOTEBOOK_PAGE):
            yield Running(
                project,
                api.project_id,
                kind,
                str(item.get(id_key)),
                str(item.get(name_key) or ""),
                str(item.get("status")),
            )


def _notebooks(api: ApiClient, project: str) -> Iterator[Running]:
    path = "/v1/{project_id}/notebooks/all"
    return _listed(api, project, "notebook", path, "data", NOTEBOOK_STATUSES)


def _services(api: ApiClient, project: str) -> Iterator[Running]:
    path = "/v1/{project_id}/services"
    return _listed(api, project, "service", path, "services", SERVICE_STATUSES)


def _jobs(api: ApiClient, project: str) -> Iterator[Running]:
    def page(offset: int) -> list[dict[str, Any]]:
        body = {
            "offset": offset,
            "limit": JOB_PAGE,
            "filters": [{"key": "phase", "operator": "in", "value": JOB_PHASES}],
        }
        answer = api.call("POST", "/v2/{project_id}/training-job-searches", body)
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    for item in _pages(page, JOB_PAGE):
        meta, status = item.get("metadata", {}), item.get("status", {})
        yield Running(
            project,
            api.project_id,
            "training job",
            str(meta.get("id")),
            str(meta.get("name") or ""),
            str(status.get("phase")),
        )


def _reached(api: ApiClient) -> list[tuple[ApiClient, str]]:
    """A client for each project the credentials reach, with the project's name."""
    try:
        projects = api.projects()
    except ApiError:
        projects = []
    if not projects:
        return [(api, api.profile.project_name or api.project_id)]
    return [
        (api.for_project(str(project["id"])), str(project.get("name") or project["id"]))
        for project in projects
    ]


def _stop_one(api: ApiClient, item: Running) -> None:
    if item.kind == "notebook":
        api.call("POST", f"/v1/{{project_id}}/notebooks/{item.id}/stop")
    elif item.kind == "service":
        api.call("PUT", f"/v1/{{project_id}}/services/{item.id}", {"status": "stopped"})
    else:
        api.call(
            "POST",
            f"/v2/{{project_id}}/training-jobs/{item.id}/actions",
            {"action_type": "terminate"},
        )


def _confirmed(count: int) -> bool:
    try:
        return typer.confirm(f"Stop these {count}?", default=False, err=True)
    except typer.Abort:
        # No answer at all (standard input closed): nothing is stopped.
        return False
    finally:
        if not sys.stdin.isatty():
            # An answer read from a pipe is not echoed: the question's line ends here.
            err.print()


def stop(
    ctx: typer.Context,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Every running notebook, service and training job."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Stop them without asking.")] = False,
) -> None:
    """Stop every running notebook, service and training job.

    In each project your credentials reach (where they cannot list projects, the current
    one). It lists them and asks first; --yes does not ask. Notebooks and services keep
    their settings and can start again; training jobs are terminated."""
    if not everything:
        raise fail("say what to stop: --all (every running notebook, service and training job)")
    view = printer(ctx)
    if view.json and not yes:
        raise fail("-o json needs --yes: the question before stopping is for a person")
    with reported():
        reached = _reached(client(ctx))
        found = [
            (api, item)
            for api, project in reached
            for listing in (_notebooks, _services, _jobs)
            for item in listing(api, project)
        ]
    if not found:
        view.done("nothing runs: no notebook, service or training job to stop", {"stopped": []})
        return
    if not yes:
        view.rows({}, [asdict(item) for _, item in found], COLUMNS)
        if not _confirmed(len(found)):
            raise fail("nothing stopped")
    stopped: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for api, item in found:
        with reported():
            try:
                _stop_one(api, item)
            except ApiError as exc:
                refused.append({**asdict(item), "error": str(exc)})
                err.print(f"could not stop {item.kind} {item.id} ({item.name}): {exc}")
                continue
        stopped.append(asdict(item))
        if not view.json:
            verb = "terminating" if item.kind == "training job" else "stopping"
            out.print(f"{verb} {item.kind} {item.id} ({item.name}) in project {item.project}")
    if view.json:
        view.dump({"stopped": stopped, "failed": refused})
    if refused:
        raise fail(f"{len(refused)} of {len(found)} could not be stopped (see above)")
