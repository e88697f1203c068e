"""`openarts image login/push/pull`: the platform's image registry through Podman, with
the profile's credentials (AK/SK, or the user name and a token), which go to Podman in
a private auth file, never on a command line."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Annotated

import typer

from openarts.cli.api_client import ApiClient
from openarts.cli.common import call, client, fail, printer, reported
from openarts.cli.output import out
from openarts.domain.registry import is_namespace

IMAGES = "/v1/{project_id}/images"


def _podman() -> str:
    found = shutil.which("podman")
    if not found:
        raise fail("this needs Podman on this machine: apt-get install podman")
    return found


def _registry(api: ApiClient) -> str:
    """The platform's registry (host:port), as its server's /health says."""
    with reported():
        health = api.call("GET", "/health")
    registry = health.get("registry") if isinstance(health, dict) else None
    if not isinstance(registry, dict) or not registry.get("enabled"):
        said = registry.get("summary") if isinstance(registry, dict) else "no answer"
        raise fail(f"{api.endpoint} runs no image registry: {said}")
    if registry.get("kind") == "external":
        # Its accounts are its own, not the platform's: Podman logs in to it directly.
        raise fail(
            f"{api.endpoint} uses the external registry {registry['address']}: log in to it "
            "with its own account (podman login), then podman push / podman pull"
        )
    return str(registry["address"])


def _namespace(api: ApiClient) -> str:
    """The project's namespace in the registry: its name (its ID when it has none we
    can read)."""
    # A name a registry path cannot hold (capitals, say) leaves the ID.
    if api.profile.project_name and is_namespace(api.profile.project_name):
        return api.profile.project_name
    with reported():
        project_id = api.project_id
        for project in api.projects():
            name = str(project.get("name") or "")
            if project.get("id") == project_id and is_namespace(name):
                return name
    return project_id


@contextlib.contextmanager
def _auth_file(api: ApiClient, address: str) -> Iterator[str]:
    with reported():
        user, secret = api.login_pair()
    pair = base64.b64encode(f"{user}:{secret}".encode()).decode()
    with tempfile.TemporaryDirectory(prefix="openarts-registry-") as folder:
        path = os.path.join(folder, "auth.json")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"auths": {address: {"auth": pair}}}, file)
        yield path


def _run(*args: str) -> None:
    # Podman's own output goes to stderr: stdout is this command's answer (-o json).
    done = subprocess.run(
        [_podman(), *args], check=False, stdin=subprocess.DEVNULL, stdout=sys.stderr
    )
    if done.returncode != 0:
        raise fail(f"podman {args[0]} failed (exit {done.returncode})", done.returncode)


def _in_registry(address: str, image: str) -> str:
    """A reference with an SWR host (as ModelArts code writes images) names the
    platform's registry."""
    first, sep, rest = image.partition("/")
    return f"{address}/{rest}" if sep and first.startswith("swr.") else image


def login(ctx: typer.Context) -> None:
    """Log Podman in to the platform's registry with this profile's credentials (kept in
    Podman's own auth file, as `podman login` keeps them)."""
    api = client(ctx)
    address = _registry(api)
    with reported():
        user, secret = api.login_pair()
    done = subprocess.run(
        [_podman(), "login", "--tls-verify=false", "--username", user, "--password-stdin", address],
        input=secret.encode(),
        check=False,
    )
    if done.returncode != 0:
        raise fail(f"podman login failed (exit {done.returncode})", done.returncode)
    out.print(f"push to {address}/{_namespace(api)}/<image>:<tag>")


def push(
    ctx: typer.Context,
    local: Annotated[str, typer.Argument(help="A local Podman image (name:tag or ID).")],
    target: Annotated[
        str | None,
        typer.Argument(help="name:tag in your project's namespace (default: LOCAL's own)."),
    ] = None,
    register: Annotated[
        bool, typer.Option("--register", help="Register it as a notebook image too.")
    ] = False,
) -> None:
    """Push a local image to your project's namespace of the platform's registry; it
    prints the reference to give as a training job's image_url or a model's location."""
    api = client(ctx)
    address = _registry(api)
    name_tag = target or local.rsplit("/", 1)[-1]
    if ":" not in name_tag:
        name_tag += ":latest"
    reference = f"{address}/{_namespace(api)}/{name_tag}"
    _run("tag", local, reference)
    with _auth_file(api, address) as auth_file:
        _run("push", "--quiet", "--authfile", auth_file, "--tls-verify=false", reference)
    if not register:
        printer(ctx).done(f"pushed {reference}", {"image": reference})
        return
    created = call(ctx, "POST", IMAGES, {"swr_path": reference})
    printer(ctx).done(
        f"pushed {reference} and registered it as image {created.get('id')}",
        {"image": reference, "registered": created},
    )


def pull(
    ctx: typer.Context,
    image: Annotated[str, typer.Argument(help="host/namespace/name:tag (an SWR host too).")],
) -> None:
    """Pull an image of the platform's registry into this machine's Podman."""
    api = client(ctx)
    address = _registry(api)
    reference = _in_registry(address, image)
    with _auth_file(api, address) as auth_file:
        _run("pull", "--quiet", "--authfile", auth_file, "--tls-verify=false", reference)
    printer(ctx).done(f"pulled {reference}", {"image": reference})
