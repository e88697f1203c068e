"""`openarts configure`: save a profile (endpoint, project, AK/SK or a user's sign-in)
after checking it against the server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from openarts.cli.api_client import ApiClient
from openarts.cli.common import fail, reported
from openarts.cli.output import out
from openarts.cli.profiles import DEFAULT_PROFILE, Profile, config_path, save_profile


def configure(
    profile: Annotated[
        str, typer.Option("--profile", help="The profile's name.")
    ] = DEFAULT_PROFILE,
    endpoint: Annotated[
        str | None, typer.Option(help="The server's URL, e.g. http://127.0.0.1:8080.")
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project name.")] = None,
    project_id: Annotated[str | None, typer.Option(help="Project ID.")] = None,
    ak: Annotated[str | None, typer.Option(help="Access key (AK/SK sign-in).")] = None,
    sk: Annotated[str | None, typer.Option(help="Secret key (AK/SK sign-in).")] = None,
    user: Annotated[str | None, typer.Option(help="User name (password sign-in).")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="OPENARTS_PASSWORD",
            help="Password; asked for when not given. Never saved: the token is.",
        ),
    ] = None,
    domain: Annotated[str | None, typer.Option(help="The user's domain name.")] = None,
) -> None:
    """Save a profile to the config file (mode 0600), after checking it works."""
    if not endpoint:
        raise fail("--endpoint is required")
    if bool(ak) != bool(sk):
        raise fail("--ak and --sk go together")
    if ak and user:
        raise fail("give either --ak/--sk or --user, not both")
    if not (ak or user):
        raise fail("give --ak and --sk, or --user (and --password)")
    chosen = Profile(
        endpoint=endpoint.rstrip("/"),
        project_id=project_id or "",
        project_name=project or "",
        access_key=ak or "",
        secret_key=sk or "",
        user=user or "",
        domain=domain or "",
    )
    with reported():
        client = ApiClient(chosen)
        if user:
            if password is None:
                if not sys.stdin.isatty():
                    raise fail("--password (or OPENARTS_PASSWORD) is needed without a terminal")
                password = typer.prompt("Password", hide_input=True)
            client.sign_in(password)
        else:
            # Checks the keys and finds the project's ID when only its name was given.
            chosen.project_id = client.project_id
            client.call("GET", "/v1/{project_id}/os-user-config")
    save_profile(config_path(), profile, chosen)
    out.print(
        f"profile {profile!r} saved to {config_path()} "
        f"(project {chosen.project_name or chosen.project_id})"
    )
