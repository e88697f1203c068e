"""Resource pools: capacity and use per pool and node, the queue with why each workload
waits, tags, create and scale."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from openarts.console import live, units
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.errors import FormError, flash
from openarts.console.pages.common import (
    ListPage,
    form_failure,
    items,
    lines,
    number,
    page,
    pairs,
)
from openarts.console.pages.training import search
from openarts.console.rendering import render
from openarts.console.session import ApiDep, SessionDep, checked_form
from openarts.console.units import quantity

router = APIRouter(prefix="/console/pools", include_in_schema=False)
POOLS = "/v2/{project_id}/pools"
NAME_LABEL = "os.modelarts/name"
WAITING = {"Queue", "Pending"}


def display_name(pool: dict[str, Any]) -> str:
    labels = pool.get("metadata", {}).get("labels") or {}
    return str(labels.get(NAME_LABEL) or pool.get("metadata", {}).get("name", ""))


# A node's resources as the table names them.
RESOURCE_NAMES = {"cpu": "vCPUs", "memory": "Memory", "nvidia.com/gpu": "GPUs"}


def usage(node: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """Per resource of a node: its name, capacity, free (in words: "0.5 vCPUs",
    "1 GiB"), and the percent in use."""
    status = node.get("status") or {}
    capacity, free = status.get("resources") or {}, status.get("availableResources") or {}
    rows = []
    for name, total in capacity.items():
        whole = quantity(total)
        left = free.get(name, total)
        used = whole - quantity(left)
        rows.append(
            (
                RESOURCE_NAMES.get(name, name),
                units.resources({name: total}),
                units.resources({name: left}),
                units.share(used, whole),
            )
        )
    return rows


# How the public pool's report names each kind of work ("training job my-job"), and
# where the console shows one.
KINDS = {
    "train": ("training job ", "Training job", "/console/training-jobs/"),
    "notebook": ("notebook ", "Notebook", "/console/notebooks/"),
    "service": ("service ", "Service", "/console/services/"),
}


async def _ids_by_name(api: ConsoleApi, kinds: set[str]) -> dict[tuple[str, str], str]:
    """(kind, name) → ID of this project's work of those kinds, for the names that are
    unique (a name two of them share links to nothing rather than to the wrong one).
    The public pool's report names its entries but does not give their IDs."""
    found: dict[tuple[str, str], list[str]] = {}

    def add(kind: str, name: Any, ident: Any) -> None:
        found.setdefault((kind, str(name)), []).append(str(ident))

    if "train" in kinds:
        for job in await search(api):
            add("train", job["metadata"]["name"], job["metadata"]["id"])
    if "notebook" in kinds:
        for nb in items(await api.get("/v1/{project_id}/notebooks", limit=100), "data"):
            add("notebook", nb.get("name"), nb.get("id"))
    if "service" in kinds:
        listing = await api.get("/v1/{project_id}/services", limit=100)
        for svc in items(listing, "services"):
            add("service", svc.get("service_name"), svc.get("service_id"))
    return {key: ids[0] for key, ids in found.items() if len(ids) == 1}


def _meter(what: str, used: float, whole: float, text: Any, *, bare: bool) -> dict[str, Any]:
    """One resource's use; ``bare``: the amount in use is said without its unit ("2 of
    8 vCPUs"), where both amounts always share it."""
    return {
        "what": what,
        "used": units.number(used) if bare else text(used),
        "whole": text(whole),
        "free": text(max(whole - used, 0.0)),
        "percent": units.share(used, whole),
    }


async def public_view(api: ConsoleApi) -> dict[str, Any]:
    """The public pool as its section shows it: a meter per resource, what holds it
    (this project's work by name, other projects' as one sum) and its queue."""
    public = await api.get("/v2/{project_id}/public-pool")
    capacity, used = public.get("capacity") or {}, public.get("used") or {}
    meters = [
        _meter(
            "vCPUs",
            quantity(used.get("cpu")),
            quantity(capacity.get("cpu")),
            units.cpus,
            bare=True,
        ),
        _meter(
            "Memory",
            quantity(used.get("memory")),
            quantity(capacity.get("memory")),
            units.memory,
            bare=False,
        ),
    ]
    gpu_key = next((k for k in units.GPU_KEYS if k in capacity), None)
    if gpu_key:
        in_use, whole = quantity(used.get(gpu_key)), quantity(capacity[gpu_key])
        gpus = _meter("GPUs", in_use, whole, units.gpus, bare=True)
        meters.append(gpus)
    entries = list(public.get("items") or [])
    ids = await _ids_by_name(api, {str(e.get("type")) for e in entries} & set(KINDS))
    holders, queue = [], []
    ours = {"cpu": 0.0, "memory": 0.0}
    for entry in entries:
        prefix, kind, where = KINDS.get(str(entry.get("type")), ("", str(entry.get("type")), ""))
        name = str(entry.get("name", "")).removeprefix(prefix)
        ident = ids.get((str(entry.get("type")), name))
        shown = {
            "kind": kind,
            "name": name,
            "href": f"{where}{segment(ident)}" if ident and where else "",
            "status": entry.get("status"),
            "position": entry.get("position"),
            "reason": entry.get("reason") or "",
            "holds": units.resources(entry.get("resources")),
            "since": entry.get("queued_at"),
        }
        if entry.get("position"):
            queue.append(shown)
        else:
            holders.append(shown)
            held = entry.get("resources") or {}
            ours["cpu"] += quantity(held.get("cpu"))
            ours["memory"] += quantity(held.get("memory"))
    # What the pool's use holds beyond this project's own work is other projects'.
    others = {
        "running": int(public.get("others_running") or 0),
        "waiting": int(public.get("others_waiting") or 0),
        "holds": ", ".join(
            [
                units.cpus(max(quantity(used.get("cpu")) - ours["cpu"], 0.0)),
                units.memory(max(quantity(used.get("memory")) - ours["memory"], 0.0)),
            ]
        ),
    }
    return {
        "public": public,
        "meters": meters,
        "hosts_cpu": units.cpus(quantity((public.get("hosts") or {}).get("cpu"))),
        "cpu_share": units.number(float(public.get("cpu_share") or 1)),
        "holders": holders,
        "queue": queue,
        "others": others,
    }


async def _rows(api: ConsoleApi) -> live.Update:
    pools = items(await api.get(POOLS), "items")
    return live.Update(
        {
            "rows": render("pools/rows.html", pools=pools, display_name=display_name),
            "public": render("pools/public.html", **await public_view(api)),
        }
    )


async def waiting_reason(api: ConsoleApi, workload: dict[str, Any]) -> str:
    """Why a workload waits. The workloads API has no reason field; the scheduler tells
    it in a Waiting event of the resource, which a training job's events API serves."""
    if workload.get("type") != "train":
        return ""
    try:
        answer = await api.get(
            f"/v2/{{project_id}}/training-jobs/{segment(workload.get('jobUUID'))}/events",
            limit=20,
        )
    except ApiError as error:
        return str(error)
    for event in items(answer, "events"):
        message = str(event.get("message", ""))
        if message.startswith("[Waiting]"):
            return message.removeprefix("[Waiting]").strip()
    return ""


def _detail_producer(pool_name: str) -> live.Produce:
    path = f"{POOLS}/{segment(pool_name)}"

    async def produce(api: ConsoleApi) -> live.Update:
        pool = await api.get(path)
        nodes = items(await api.get(f"{path}/nodes"), "items")
        workloads = items(await api.get(f"{path}/workloads"), "items")
        reasons = {
            w.get("uid"): await waiting_reason(api, w)
            for w in workloads
            if w.get("status") in WAITING
        }
        # The workloads API names a job by its ID; the training jobs API knows its name.
        names: dict[str, str] = {}
        if any(w.get("type") == "train" for w in workloads):
            names = {j["metadata"]["id"]: j["metadata"]["name"] for j in await search(api)}
        tags_path = f"/v1/{{project_id}}/pools/{segment(pool_name)}/tags"
        tags = items(await api.get(tags_path), "tags")
        html = render(
            "pools/state.html",
            pool=pool,
            nodes=nodes,
            workloads=workloads,
            reasons=reasons,
            tags=tags,
            names=names,
            usage=usage,
            display_name=display_name,
        )
        return live.Update({"state": html})

    return produce


async def _choices(api: ConsoleApi) -> dict[str, Any]:
    flavors = items(await api.get("/v1/{project_id}/resourceflavors"), "items")
    networks = items(await api.get("/v1/{project_id}/networks"), "items")
    return {"flavors": [pool_flavor(f) for f in flavors], "networks": networks}


def pool_flavor(flavor: dict[str, Any]) -> tuple[str, str]:
    """A node flavor's name, and its name once with what a node of it has."""
    name = str(flavor.get("metadata", {}).get("name", ""))
    spec = flavor.get("spec") or {}
    has = units.resources({k: spec[k] for k in ("cpu", "memory") if spec.get(k)})
    return name, f"{name} · {has}" if has != "—" else name


LIST = ListPage("pools/list.html", "Pools", _choices, blank={"scope": "Train"})


@router.get("")
async def list_page(request: Request, session: SessionDep, api: ApiDep) -> Response:
    return await LIST.show(request, session, api, _rows)


@router.get("/live")
async def list_live(request: Request, session: SessionDep) -> Response:
    return live.stream(request, session, _rows, poll_s=2.0)


def create_body(form: dict[str, str]) -> dict[str, Any]:
    count = number(form, "count", default=1)
    spec: dict[str, Any] = {
        "type": "Dedicate",
        "scope": [s.strip() for s in form.get("scope", "Train").split(",") if s.strip()],
        # A dedicated pool's maxCount is its count (the pools API refuses another).
        "resources": [{"flavor": form.get("flavor", ""), "count": count, "maxCount": count}],
    }
    if form.get("network"):
        spec["network"] = {"name": form["network"]}
    return {
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {"labels": {NAME_LABEL: form.get("name", "").strip()}},
        "spec": spec,
    }


@router.post("")
async def create(request: Request, session: SessionDep, api: ApiDep) -> Response:
    form = await checked_form(request, session)
    try:
        created = await api.post(POOLS, create_body(form))
    except (ApiError, FormError) as error:
        context, status = form_failure(error)
        return await LIST.show(
            request, session, api, _rows, form=form, status_code=status, **context
        )
    return RedirectResponse(
        f"/console/pools/{segment(created['metadata']['name'])}", status_code=303
    )


@router.get("/{pool_name}")
async def detail(request: Request, session: SessionDep, api: ApiDep, pool_name: str) -> Response:
    pool = await api.get(f"{POOLS}/{segment(pool_name)}")
    update = await _detail_producer(pool_name)(api)
    return await page(
        request,
        session,
        api,
        "pools/detail.html",
        title=f"Pool {display_name(pool)}",
        pool=pool,
        state=update.parts["state"],
        name=display_name(pool),
    )


@router.get("/{pool_name}/live")
async def detail_live(request: Request, session: SessionDep, pool_name: str) -> Response:
    return live.stream(request, session, _detail_producer(pool_name), poll_s=2.0)


def scaled_resources(pool: dict[str, Any], flavor: str, count: int) -> list[dict[str, Any]]:
    """The pool's flavors with one of them at a new count (an update replaces the whole
    list: a flavor it leaves out would be removed)."""
    resources = []
    for entry in (pool.get("spec") or {}).get("resources") or []:
        kept = {k: v for k, v in entry.items() if v is not None}
        if kept.get("flavor") == flavor:
            kept["count"] = kept["maxCount"] = count
        resources.append(kept)
    if not any(r.get("flavor") == flavor for r in resources):
        raise FormError("flavor", f"The pool has no flavor {flavor!r}.")
    return resources


@router.post("/{pool_name}/{verb}")
async def act(
    request: Request, session: SessionDep, api: ApiDep, pool_name: str, verb: str
) -> Response:
    form = await checked_form(request, session)
    path = f"{POOLS}/{segment(pool_name)}"
    if verb == "scale":
        flavor, count = form.get("flavor", ""), number(form, "count", minimum=0)
        if count is None:
            raise FormError("count", "How many nodes? It is empty.")
        resources = scaled_resources(await api.get(path), flavor, count)
        await api.patch(path, {"spec": {"resources": resources}})
        return flash(f"Scaling to {count} node(s) of {flavor} requested.")
    if verb == "tag":
        tags = [{"key": k, "value": v} for k, v in pairs(form, "tags")]
        await api.post(f"/v1/{{project_id}}/pools/{segment(pool_name)}/tags/create", {"tags": tags})
        return flash("Tags saved.")
    if verb == "untag":
        keys = lines(form.get("keys", ""))
        if not keys:
            raise FormError("keys", "Which tags? Name one key a line.")
        await api.delete(
            f"/v1/{{project_id}}/pools/{segment(pool_name)}/tags/delete",
            {"tags": [{"key": key} for key in keys]},
        )
        return flash(f"Removed {len(keys)} tag(s).")
    if verb == "delete":
        await api.delete(path)
        return flash("Deletion requested.")
    return flash(error=ApiError(404, "Console.0404", f"No action {verb} for pools."))
