"""`openarts configure`: save a profile (endpoint, project, AK/SK or a user's sign-in)
after checking it against the server."""

from __future__ import annotations

from typing import Annotated

import typer

from openarts.cli.api_client import ApiClient, checked_endpoint
from openarts.cli.common import FLAGS_KEY, fail, printer, reported, secret_from
from openarts.cli.profiles import DEFAULT_PROFILE, Profile, config_path, save_profile


def configure(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", help="The profile's name (default: default).")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="The server's URL, e.g. http://127.0.0.1:8080.")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project name.")] = None,
    project_id: Annotated[str | None, typer.Option(help="Project ID.")] = None,
    ak: Annotated[
        str | None,
        typer.Option(help="Access key; the secret key is asked for (or OPENARTS_SK)."),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="User name; the password is asked for (or OPENARTS_PASSWORD)."),
    ] = None,
    domain: Annotated[str | None, typer.Option(help="The user's domain name.")] = None,
    obs_endpoint: Annotated[
        str | None,
        typer.Option(
            help="Object storage (S3) URL, for `openarts obs`, where it is not the API's "
            "host and port + 1 (8081 beside 8080)."
        ),
    ] = None,
) -> None:
    """Save a profile to the config file (mode 0600), after checking it works.

    Secrets are asked for, or read from OPENARTS_SK / OPENARTS_PASSWORD; a password is
    never saved, the token it gets is. Every family, `openarts obs` too, uses the profile."""
    # `openarts --profile X --endpoint Y configure` means the same as the options here.
    flags, global_profile = ctx.meta.get(FLAGS_KEY, ({}, None))
    profile = profile or global_profile or DEFAULT_PROFILE
    endpoint = endpoint or flags.get("endpoint")
    project_id = project_id or flags.get("project_id")
    if not endpoint:
        raise fail("--endpoint is required")
    if ak and user:
        raise fail("give either --ak or --user, not both")
    if not (ak or user):
        raise fail("give --ak (with its secret key), or --user (with its password)")
    chosen = Profile(
        endpoint=endpoint.rstrip("/"),
        project_id=project_id or "",
        project_name=project or "",
        access_key=ak or "",
        user=user or "",
        domain=domain or "",
        obs_endpoint=(obs_endpoint or "").rstrip("/"),
    )
    with reported():
        if obs_endpoint:
            checked_endpoint(obs_endpoint)
        client = ApiClient(chosen)
        if user:
            client.sign_in(secret_from("OPENARTS_PASSWORD", "Password"))
        else:
            chosen.secret_key = secret_from("OPENARTS_SK", "Secret key")
            # Checks the keys and finds the project's ID when only its name was given.
            chosen.project_id = client.project_id
            client.call("GET", "/v1/{project_id}/os-user-config")
    path = config_path()
    save_profile(path, profile, chosen)
    message = (
        f"profile {profile!r} saved to {path} (project {chosen.project_name or chosen.project_id})"
    )
    printer(ctx).done(
        message, {"profile": profile, "path": str(path), "project_id": chosen.project_id}
    )
