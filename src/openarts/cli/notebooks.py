"""`openarts notebook …`: notebook instances (/v1/{project_id}/notebooks): JupyterLab
servers with a lease that stops them, their flavors, and object storage mounted into them."""

from __future__ import annotations

import html
import os
import tempfile
import webbrowser
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer

from openarts.cli.api_client import ApiError
from openarts.cli.common import (
    FileOption,
    body_from,
    call,
    client,
    fail,
    printer,
    reported,
)
from openarts.cli.output import Column, err, when
from openarts.cli.watch import HALF_HOUR_S, HalfHourLimit, Watch
from openarts.domain.notebooks import NotebookStatus

notebook_app = typer.Typer(
    help="Notebook instances: create, start, stop, prolong, open.", no_args_is_help=True
)
mount_app = typer.Typer(
    help="Object storage mounted into a running notebook (under /data/).", no_args_is_help=True
)
notebook_app.add_typer(mount_app, name="mounts")

NOTEBOOKS = "/v1/{project_id}/notebooks"
HOUR_MS = 3_600_000
# Statuses a notebook does not leave by itself: waiting on past them is pointless.
ERROR_STATUSES = {"CREATE_FAILED", "START_FAILED", "DELETE_FAILED", "ERROR"}
# `wait --status DELETED` ends when the instance is gone (the API answers not found).
DELETED = "DELETED"
NOT_FOUND = "ModelArts.6309"
# The platform reconciles about this often; asking faster only adds load.
POLL_S = 0.5

IdArgument = Annotated[str, typer.Argument(help="Notebook ID.")]
HoursOption = Annotated[
    float | None,
    typer.Option(
        "--duration-hours",
        min=0,
        help="Stop it automatically this many hours after it starts (1 to 72).",
    ),
]


def _image(image: dict[str, Any]) -> str:
    return f"{image.get('name', '')}:{image.get('tag', '')}" if image else ""


def _gpu(flavor: dict[str, Any]) -> str:
    gpu = flavor.get("gpu") or {}
    return f"{gpu.get('gpu')} x {gpu.get('type')}" if gpu else ""


def _stops_at(notebook: dict[str, Any]) -> str:
    return _lease_end(notebook.get("lease") or {})


def _lease_end(lease: dict[str, Any]) -> str:
    start, duration = lease.get("create_at"), lease.get("duration")
    if not lease.get("enable", True) or not isinstance(start, int) or not duration:
        return ""
    return when(start + int(duration))


def _hours(duration_ms: Any) -> str:
    return f"{int(duration_ms) / HOUR_MS:g} h" if isinstance(duration_ms, int) else ""


LIST_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("FLAVOR", "flavor"),
    ("IMAGE", lambda nb: _image(nb.get("image") or {})),
    ("STOPS AT", _stops_at),
    ("CREATED", lambda nb: when(nb.get("create_at"))),
]


def progress(notebook: dict[str, Any] | None) -> str:
    """The step the instance's start is at, and why it waits there, or ""."""
    for step in (notebook or {}).get("action_progress") or []:
        if step.get("status") in ("PROCESSING", "FAILED"):
            return str(step.get("description") or step.get("step_description") or "")
    return ""


SHOW_COLUMNS: list[Column] = [
    ("id", "id"),
    ("name", "name"),
    ("description", "description"),
    ("status", "status"),
    ("failure", "fail_reason"),
    ("progress", lambda nb: progress(nb) or None),
    ("flavor", "flavor"),
    ("image", "image.swr_path"),
    ("image id", "image.id"),
    ("volume", lambda nb: _volume(nb.get("volume") or {})),
    ("url", "url"),
    ("lease", lambda nb: _hours((nb.get("lease") or {}).get("duration"))),
    ("stops at", _stops_at),
    ("workspace", "workspace_id"),
    ("created", lambda nb: when(nb.get("create_at"))),
    ("updated", lambda nb: when(nb.get("update_at"))),
]
LEASE_COLUMNS: list[Column] = [
    ("type", "type"),
    ("enabled", "enable"),
    ("duration", lambda lease: _hours(lease.get("duration"))),
    ("started", lambda lease: when(lease.get("create_at"))),
    ("stops at", _lease_end),
    ("updated", lambda lease: when(lease.get("update_at"))),
]
MOUNT_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("URI", "uri"),
    ("PATH", "mount_path"),
    ("STATUS", "status"),
    ("CATEGORY", "category"),
    ("FAILURE", "failure_reason"),
]


def _volume(volume: dict[str, Any]) -> str:
    if not volume:
        return ""
    size = f" {volume['capacity']} GB" if volume.get("capacity") else ""
    return f"{volume.get('category', '')}{size} at {volume.get('mount_path', '')}"


def _ms(hours: float | None) -> int | None:
    return None if hours is None else round(hours * HOUR_MS)


def _notebook(ctx: typer.Context, notebook_id: str) -> dict[str, Any]:
    notebook: dict[str, Any] = call(ctx, "GET", f"{NOTEBOOKS}/{notebook_id}")
    return notebook


def _without_token(answer: Any) -> Any:
    """The answer without Jupyter's token: it signs anyone in to the notebook, so it is
    printed only when asked for (`open --with-token`), never in passing."""
    if isinstance(answer, dict):
        return {k: _without_token(v) for k, v in answer.items() if k != "token"}
    if isinstance(answer, list):
        return [_without_token(item) for item in answer]
    return answer


def _said(ctx: typer.Context, verb: str, notebook: dict[str, Any]) -> None:
    """An action's answer: the notebook as JSON, or one line with its new status."""
    printer(ctx).done(
        f"{verb} notebook {notebook.get('id')} ({notebook.get('name')}): {notebook.get('status')}",
        _without_token(notebook),
    )


@notebook_app.command("list")
def list_notebooks(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Notebooks whose name contains this.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status, e.g. RUNNING or STOPPED.")
    ] = None,
    flavor: Annotated[str | None, typer.Option(help="Only this flavor.")] = None,
    image_id: Annotated[str | None, typer.Option(help="Only those from this image.")] = None,
    pool_id: Annotated[str | None, typer.Option(help="Only those in this pool.")] = None,
    feature: Annotated[
        str | None, typer.Option(help="NOTEBOOK or DEFAULT (the free instance).")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Every user's notebooks in the project, not yours only.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first.")] = 0,
) -> None:
    """Your notebook instances, newest first."""
    query: dict[str, Any] = {
        "name": name,
        "status": status,
        "flavor": flavor,
        "image_id": image_id,
        "pool_id": pool_id,
        "feature": feature,
        "limit": limit,
        "offset": offset,
    }
    path = f"{NOTEBOOKS}/all" if everyone else NOTEBOOKS
    answer = call(ctx, "GET", path, **{k: v for k, v in query.items() if v is not None})
    printer(ctx).rows(_without_token(answer), answer.get("data", []), LIST_COLUMNS)


@notebook_app.command("show")
def show(ctx: typer.Context, notebook_id: IdArgument) -> None:
    """One notebook: status, flavor, image, URL, lease."""
    printer(ctx).item(_without_token(_notebook(ctx, notebook_id)), SHOW_COLUMNS)


@notebook_app.command("create")
def create(
    ctx: typer.Context,
    file: FileOption = None,
    name: Annotated[
        str | None, typer.Option(help="Letters, digits, '-' and '_' (up to 128).")
    ] = None,
    image_id: Annotated[str | None, typer.Option(help="Image ID (see `image list`).")] = None,
    flavor: Annotated[str | None, typer.Option(help="Flavor (see `notebook flavors`).")] = None,
    duration_hours: HoursOption = None,
    description: Annotated[str | None, typer.Option(help="What the notebook is for.")] = None,
    volume_category: Annotated[
        str | None, typer.Option(help="Workspace volume: EVS (the default) or EFS.")
    ] = None,
    volume_size: Annotated[
        int | None, typer.Option(min=1, max=4096, help="Workspace volume size in GB.")
    ] = None,
    volume_ownership: Annotated[
        str | None, typer.Option(help="MANAGED (the default) or DEDICATED.")
    ] = None,
    pool_id: Annotated[str | None, typer.Option(help="Run it in this dedicated pool.")] = None,
    workspace_id: Annotated[str | None, typer.Option(help="Workspace ID.")] = None,
) -> None:
    """Create (and start) a notebook from a body file (-f, the reference's body) and/or
    flags. Without volume settings it gets a managed EVS volume, as in the console."""
    flags: dict[str, Any] = {
        "name": name,
        "image_id": image_id,
        "flavor": flavor,
        "description": description,
        "pool_id": pool_id,
        "workspace_id": workspace_id,
        "volume": {
            "category": volume_category,
            "capacity": volume_size,
            "ownership": volume_ownership,
        },
    }
    if duration_hours is not None:
        flags["lease"] = {"duration": _ms(duration_hours), "type": "TIMING"}
    body = body_from(
        file, flags, {"name": "--name", "flavor": "--flavor", "image_id": "--image-id"}
    )
    volume = body.setdefault("volume", {})
    if isinstance(volume, dict):
        volume.setdefault("category", "EVS")
        volume.setdefault("ownership", "MANAGED")
    _said(ctx, "created", call(ctx, "POST", NOTEBOOKS, body))


@notebook_app.command("update")
def update(
    ctx: typer.Context,
    notebook_id: IdArgument,
    file: FileOption = None,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    flavor: Annotated[
        str | None, typer.Option(help="New flavor (stopped notebooks only; see `flavors --for`).")
    ] = None,
    image_id: Annotated[
        str | None, typer.Option(help="New image (stopped notebooks only).")
    ] = None,
    storage_size: Annotated[
        int | None, typer.Option(min=1, max=4096, help="Grow the EVS volume to this many GB.")
    ] = None,
) -> None:
    """Change a notebook's name, description, flavor, image or volume size."""
    flags = {
        "name": name,
        "description": description,
        "flavor": flavor,
        "image_id": image_id,
        "storage_new_size": storage_size,
    }
    body = body_from(file, flags, {})
    if not body:
        raise fail(
            "nothing to change: give --name, --description, --flavor, --image-id, "
            "--storage-size or a body file (-f)"
        )
    _said(ctx, "updated", call(ctx, "PUT", f"{NOTEBOOKS}/{notebook_id}", body))


@notebook_app.command("delete")
def delete(ctx: typer.Context, notebook_id: IdArgument) -> None:
    """Delete a notebook and its workspace volume (a running one is stopped first)."""
    _said(ctx, "deleting", call(ctx, "DELETE", f"{NOTEBOOKS}/{notebook_id}"))


@notebook_app.command("start")
def start(ctx: typer.Context, notebook_id: IdArgument, duration_hours: HoursOption = None) -> None:
    """Start a stopped notebook; its lease starts again (for --duration-hours if given)."""
    query = {} if duration_hours is None else {"duration": _ms(duration_hours)}
    _said(ctx, "starting", call(ctx, "POST", f"{NOTEBOOKS}/{notebook_id}/start", **query))


@notebook_app.command("stop")
def stop(ctx: typer.Context, notebook_id: IdArgument) -> None:
    """Stop a running notebook; its workspace volume is kept."""
    _said(ctx, "stopping", call(ctx, "POST", f"{NOTEBOOKS}/{notebook_id}/stop"))


@notebook_app.command("lease")
def lease(ctx: typer.Context, notebook_id: IdArgument) -> None:
    """When the notebook stops by itself."""
    printer(ctx).item(call(ctx, "GET", f"{NOTEBOOKS}/{notebook_id}/lease"), LEASE_COLUMNS)


@notebook_app.command("prolong")
def prolong(
    ctx: typer.Context,
    notebook_id: IdArgument,
    hours: Annotated[
        float,
        typer.Option(
            "--hours",
            "--duration-hours",
            min=0,
            metavar="HOURS",
            help="Keep it running this many hours from now (1 to 72).",
        ),
    ] = 1.0,
) -> None:
    """Push a running notebook's automatic stop back."""
    body = {"duration": _ms(hours), "type": "TIMING"}
    answer = call(ctx, "PATCH", f"{NOTEBOOKS}/{notebook_id}/lease", body)
    printer(ctx).done(f"notebook {notebook_id} now stops at {_lease_end(answer)}", answer)


def _with_token(url: str, token: str | None) -> str:
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'token': token})}"


# Statuses from which a notebook becomes RUNNING by itself: `open --wait` waits there.
ON_THE_WAY = {"INIT", "CREATING", "STARTING", "SNAPSHOTTING"}
# Statuses it leaves only when asked to start.
AT_REST = {"STOPPED", "STOPPING", "CREATE_FAILED", "START_FAILED", "ERROR"}


def _not_open(notebook_id: str, notebook: dict[str, Any]) -> typer.Exit:
    """Why a notebook that is not RUNNING cannot be opened, and what to do about it."""
    status = notebook.get("status")
    if status in ON_THE_WAY:
        step = progress(notebook)
        doing = "being saved as an image" if status == "SNAPSHOTTING" else "starting"
        return fail(
            f"notebook {notebook_id} is {status}, not RUNNING yet: it is {doing}"
            f"{f' ({step})' if step else ''}; `openarts notebook open {notebook_id} --wait` "
            "waits for it"
        )
    if status in AT_REST:
        why = notebook.get("fail_reason")
        return fail(
            f"notebook {notebook_id} is {status}, not RUNNING{f' ({why})' if why else ''}: "
            f"start it first (openarts notebook start {notebook_id})"
        )
    return fail(f"notebook {notebook_id} is {status}, not RUNNING")


@notebook_app.command("open")
def open_notebook(
    ctx: typer.Context,
    notebook_id: IdArgument,
    browser: Annotated[
        bool, typer.Option("--browser", help="Open it in a web browser (signed in).")
    ] = False,
    with_token: Annotated[
        bool,
        typer.Option("--with-token", help="Print the URL with the token that signs in to it."),
    ] = False,
    wait_running: Annotated[
        bool,
        typer.Option("--wait", help="If it is starting, wait (showing progress) until it runs."),
    ] = False,
    timeout: HalfHourLimit = HALF_HOUR_S,
) -> None:
    """Print a running notebook's JupyterLab URL; --browser opens it signed in. The URL
    alone asks for Jupyter's token: --with-token prints it in the URL. Right after
    `create` or `start`, --wait waits for the notebook to run."""
    notebook = _notebook(ctx, notebook_id)
    if notebook.get("status") != "RUNNING" and wait_running:
        if notebook.get("status") not in ON_THE_WAY:
            raise _not_open(notebook_id, notebook)
        with _watch(ctx, notebook_id, timeout) as watch:
            notebook = _reached(ctx, notebook_id, "RUNNING", watch) or notebook
    url = notebook.get("url")
    if notebook.get("status") != "RUNNING" or not url:
        raise _not_open(notebook_id, notebook)
    signed_in = _with_token(url, notebook.get("token"))
    shown = signed_in if with_token else url
    printer(ctx).done(shown, {"id": notebook_id, "url": shown})
    if not (with_token or browser or printer(ctx).json):
        # On stderr: `URL=$(openarts notebook open ID)` still gets the URL alone.
        err.print(
            "this URL asks for Jupyter's token: --with-token prints the URL with it, "
            "--browser opens it signed in"
        )
    # The browser gets the token so it is signed in; the terminal shows it only on request.
    if browser and not webbrowser.open(_redirect_page(signed_in).as_uri()):
        raise fail("no web browser could be started here: open the URL above yourself")


def _redirect_page(url: str) -> Path:
    """A page, readable by this user alone, that sends the browser on to ``url``: the
    browser is started with the page's path, so the token is in no process's arguments
    (as Jupyter itself opens its own URL)."""
    descriptor, name = tempfile.mkstemp(prefix="openarts-open-", suffix=".html")
    target = html.escape(url, quote=True)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
            f'<title>Opening JupyterLab</title><a href="{target}">Open JupyterLab</a>\n'
        )
    return Path(name)


@notebook_app.command("flavors")
def flavors(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="CPU or GPU.")] = None,
    switchable_for: Annotated[
        str | None,
        typer.Option("--for", help="Only those this notebook (ID) can switch to."),
    ] = None,
) -> None:
    """The flavors notebooks can use."""
    if switchable_for:
        answer = call(ctx, "GET", f"{NOTEBOOKS}/{switchable_for}/flavors")
    else:
        answer = call(ctx, "GET", f"{NOTEBOOKS}/flavors", category=category)
    printer(ctx).rows(
        answer,
        answer.get("data", []),
        [
            ("ID", "id"),
            ("CATEGORY", "category"),
            ("VCPUS", "vcpus"),
            # The API gives memory in KB.
            ("MEMORY", lambda f: f"{f['memory'] / 1024 / 1024:g} GiB" if f.get("memory") else ""),
            ("GPU", _gpu),
            ("FREE", "free"),
            ("SOLD OUT", "sold_out"),
            ("DESCRIPTION", "description"),
        ],
    )


@notebook_app.command("create-image")
def create_image(
    ctx: typer.Context,
    notebook_id: IdArgument,
    name: Annotated[
        str | None, typer.Option(help="Image name (lower case; default: the notebook's).")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Image tag (default: v<time>).")] = None,
    description: Annotated[str | None, typer.Option(help="What the image holds.")] = None,
    namespace: Annotated[str | None, typer.Option(help="SWR organisation.")] = None,
) -> None:
    """Save a running notebook's environment (installed packages) as a new image."""
    body = {
        key: value
        for key, value in {
            "name": name,
            "tag": tag,
            "description": description,
            "namespace": namespace,
        }.items()
        if value is not None
    }
    image = call(ctx, "POST", f"{NOTEBOOKS}/{notebook_id}/create-image", body)
    printer(ctx).done(
        f"saving notebook {notebook_id} as image {image.get('id')} "
        f"({image.get('name')}:{image.get('tag')}): {image.get('status')}",
        image,
    )


def _status_or_gone(ctx: typer.Context, notebook_id: str) -> dict[str, Any] | None:
    """The notebook, or None when it does not exist (any more)."""
    with reported():
        try:
            notebook: dict[str, Any] = client(ctx).call("GET", f"{NOTEBOOKS}/{notebook_id}")
        except ApiError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
    return notebook


def _reached(
    ctx: typer.Context, notebook_id: str, wanted: str, watch: Watch
) -> dict[str, Any] | None:
    """Watch the notebook until it is ``wanted``: the notebook then (None when the wait
    was for DELETED); a one-line error when it ends in an error status or the wait runs
    out."""
    while True:
        # Only a wait for DELETED takes "not found" as an answer: otherwise it is an error.
        notebook = (
            _status_or_gone(ctx, notebook_id) if wanted == DELETED else _notebook(ctx, notebook_id)
        )
        now = DELETED if notebook is None else str(notebook.get("status"))
        if notebook is not None:
            watch.subject = f"notebook {notebook.get('name') or notebook_id}"
        watch.state(_said_status(notebook, now))
        if now == wanted:
            return notebook
        if now in ERROR_STATUSES:
            reason = (notebook or {}).get("fail_reason") or "no reason given"
            raise fail(f"notebook {notebook_id} ended {now}: {reason}")
        if watch.overdue:
            raise fail(
                f"notebook {notebook_id} still {_said_status(notebook, now)} after "
                f"{watch.waited} (--timeout 0 waits without limit)",
                code=2,
            )
        watch.pause()


def _said_status(notebook: dict[str, Any] | None, status: str) -> str:
    """The status, and the step a start is at (with why it waits there) or why it failed."""
    why = progress(notebook) or (notebook or {}).get("fail_reason")
    return f"{status}: {why}" if why else status


def _watch(ctx: typer.Context, notebook_id: str, timeout: float) -> Watch:
    return Watch(f"notebook {notebook_id}", timeout, quiet=printer(ctx).json, poll_s=POLL_S)


@notebook_app.command("wait")
def wait(
    ctx: typer.Context,
    notebook_id: IdArgument,
    status: Annotated[
        str, typer.Option(help="The status to wait for, e.g. RUNNING, STOPPED or DELETED.")
    ] = "RUNNING",
    timeout: HalfHourLimit = HALF_HOUR_S,
) -> None:
    """Show the notebook's progress until it is --status: each change of status, the
    step its start is at and why it waits there. Exit 0 then; 1 when it ends in an error
    status (e.g. START_FAILED), saying why; 2 past --timeout."""
    wanted = status.upper()
    known = [each.value for each in NotebookStatus]
    if wanted not in known:
        raise fail(f"--status must be one of {', '.join(known)}, not {status!r}")
    with _watch(ctx, notebook_id, timeout) as watch:
        notebook = _reached(ctx, notebook_id, wanted, watch)
    if printer(ctx).json:
        printer(ctx).dump(_without_token(notebook) or {"id": notebook_id, "status": DELETED})


# -- storage mounts -------------------------------------------------------------------------


def _storage(notebook_id: str) -> str:
    return f"{NOTEBOOKS}/{notebook_id}/storage"


@mount_app.command("list")
def list_mounts(ctx: typer.Context, notebook_id: IdArgument) -> None:
    """The storage mounted into a notebook."""
    answer = call(ctx, "GET", _storage(notebook_id))
    printer(ctx).rows(answer, answer.get("data", []), MOUNT_COLUMNS)


@mount_app.command("show")
def show_mount(
    ctx: typer.Context,
    notebook_id: IdArgument,
    storage_id: Annotated[str, typer.Argument(help="Mount ID (see `mounts list`).")],
) -> None:
    """One mount and its status."""
    printer(ctx).item(call(ctx, "GET", f"{_storage(notebook_id)}/{storage_id}"))


@mount_app.command("add")
def add_mount(
    ctx: typer.Context,
    notebook_id: IdArgument,
    file: FileOption = None,
    uri: Annotated[
        str | None, typer.Option(help="Folder to mount, obs://bucket/path/ (ends with /).")
    ] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="Where it appears: a folder under /data/.")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Storage kind: OBS.")] = None,
) -> None:
    """Mount an object storage folder into a running notebook."""
    flags = {"uri": uri, "mount_path": path, "category": category}
    body = body_from(file, flags, {"uri": "--uri", "mount_path": "--path"})
    body.setdefault("category", "OBS")
    mount = call(ctx, "POST", _storage(notebook_id), body)
    printer(ctx).done(
        f"mounting {mount.get('uri')} at {mount.get('mount_path')} "
        f"(mount {mount.get('id')}): {mount.get('status')}",
        mount,
    )


@mount_app.command("remove")
def remove_mount(
    ctx: typer.Context,
    notebook_id: IdArgument,
    storage_id: Annotated[str, typer.Argument(help="Mount ID (see `mounts list`).")],
) -> None:
    """Unmount storage from a notebook (the objects stay in the bucket)."""
    mount = call(ctx, "DELETE", f"{_storage(notebook_id)}/{storage_id}")
    printer(ctx).done(
        f"unmounting {mount.get('uri')} from {mount.get('mount_path')}: {mount.get('status')}",
        mount,
    )
