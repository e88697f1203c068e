"""Profiles: `openarts configure` with a user's password (the token is saved, never the
password) or with AK/SK (the secret from the environment, never the command line), and
flags and environment variables over the profile."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from openarts.testing.server import ServerProcess
from tests.cli.conftest import ADMIN_PASSWORD, Cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str]:
    """A home with no server in it: only the profile can say who the user is."""
    home = tmp_path / "no-server-here"
    home.mkdir()
    return {"OPENARTS_HOME": str(home)}


def test_password_profile_saves_a_token_and_never_the_password(
    cli: Cli, cli_server: ServerProcess, elsewhere: dict[str, str]
) -> None:
    # A config file others could read is replaced by a private one, not written into.
    cli.config.write_text("profiles: {}\n")
    cli.config.chmod(0o644)
    out = cli.ok(
        "configure",
        "--endpoint",
        cli_server.endpoint,
        "--user",
        "admin",
        "--project",
        "default",
        env={"OPENARTS_PASSWORD": ADMIN_PASSWORD},
    )
    assert "profile 'default' saved" in out
    assert stat.S_IMODE(cli.config.stat().st_mode) == 0o600
    text = cli.config.read_text()
    assert ADMIN_PASSWORD not in text
    saved = yaml.safe_load(text)["profiles"]["default"]
    assert saved["token"] and saved["project_id"] == cli_server.credentials()["Project Id"]
    assert saved["token_endpoint"] == cli_server.endpoint
    assert "ID" in cli.ok("job", "list", env=elsewhere)

    # The token goes only where it was issued, not to an endpoint given later.
    moved = cli.fails("--endpoint", "http://127.0.0.9:9", "job", "list", env=elsewhere)
    assert f"the saved sign-in is for {cli_server.endpoint}" in moved

    # An expired sign-in says what to do instead of failing obscurely.
    saved["token_expires_at"] = "2020-01-01T00:00:00.000Z"
    cli.config.write_text(yaml.safe_dump({"profiles": {"default": saved}}))
    assert "expired" in cli.fails("job", "list", env=elsewhere)
    # A script can sign in again with the password in the environment.
    assert "ID" in cli.ok("job", "list", env={**elsewhere, "OPENARTS_PASSWORD": ADMIN_PASSWORD})


def test_wrong_password_saves_nothing(cli: Cli, cli_server: ServerProcess) -> None:
    error = cli.fails(
        "configure",
        "--endpoint",
        cli_server.endpoint,
        "--user",
        "admin",
        env={"OPENARTS_PASSWORD": "nope"},
    )
    assert "ModelArts.4504" in error and "HTTP 401" in error
    assert not cli.config.exists()


def test_key_profiles_flags_and_environment(
    cli: Cli, cli_server: ServerProcess, elsewhere: dict[str, str]
) -> None:
    row = cli_server.credentials()
    secret = {"OPENARTS_SK": row["Secret Access Key"]}
    listed = cli.json(
        "--profile",
        "keys",
        "configure",
        "--endpoint",
        cli_server.endpoint,
        "--ak",
        row["Access Key Id"],
        env=secret,
    )
    assert listed["profile"] == "keys" and listed["project_id"] == row["Project Id"]
    saved = yaml.safe_load(cli.config.read_text())["profiles"]["keys"]
    assert saved["project_id"] == row["Project Id"]
    assert saved["secret_key"] == row["Secret Access Key"]
    assert "ID" in cli.ok("--profile", "keys", "job", "list", env=elsewhere)
    assert "ID" in cli.ok("job", "list", env={**elsewhere, "OPENARTS_PROFILE": "keys"})

    # A flag wins over the profile, the environment over the profile too.
    unreachable = "http://127.0.0.1:9"
    flagged = cli.fails("--profile", "keys", "--endpoint", unreachable, "job", "list")
    assert "cannot reach http://127.0.0.1:9" in flagged
    environment = cli.fails(
        "--profile", "keys", "job", "list", env={"OPENARTS_ENDPOINT": unreachable}
    )
    assert "cannot reach" in environment
    bad_secret = cli.fails("--profile", "keys", "job", "list", env={"OPENARTS_SK": "x" * 40})
    assert "ModelArts.0208" in bad_secret

    assert "no profile named 'ghost'" in cli.fails("--profile", "ghost", "job", "list")
    wrong_keys = cli.fails(
        "configure",
        "--profile",
        "bad",
        "--endpoint",
        cli_server.endpoint,
        "--ak",
        "A" * 20,
        env={"OPENARTS_SK": "x" * 40},
    )
    assert "HTTP 401" in wrong_keys
    assert "bad" not in yaml.safe_load(cli.config.read_text())["profiles"]


def test_local_keys_never_go_to_another_endpoint(cli: Cli) -> None:
    # Beside a local server, but pointed elsewhere: its admin keys are not sent there.
    error = cli.fails("--endpoint", "http://127.0.0.9:9", "job", "list")
    assert "no credentials" in error


def test_a_mistyped_endpoint_is_named_not_a_traceback(cli: Cli) -> None:
    keys = {"OPENARTS_AK": "AK", "OPENARTS_SK": "SK", "OPENARTS_PROJECT_ID": "p1"}
    for bad in ("http://127.0.0.1:80a", "127.0.0.1:8080", "ftp://127.0.0.1"):
        configure = ("configure", "--endpoint", bad, "--ak", "AK")
        for args in (configure, ("--endpoint", bad, "job", "list")):
            error = cli.fails(*args, env=keys)
            assert bad in error and "Traceback" not in error, (args, error)


def test_configure_refuses_incomplete_input(cli: Cli, cli_server: ServerProcess) -> None:
    assert "--endpoint is required" in cli.fails("configure", "--user", "admin")
    assert "either --ak or --user" in cli.fails(
        "configure", "--endpoint", "http://x", "--ak", "a", "--user", "u"
    )
    assert "OPENARTS_PASSWORD is needed" in cli.fails(
        "configure", "--endpoint", cli_server.endpoint, "--user", "admin"
    )
    assert "OPENARTS_SK is needed" in cli.fails(
        "configure", "--endpoint", cli_server.endpoint, "--ak", "AK"
    )
    # Secrets are not taken from the command line.
    assert cli.run("configure", "--endpoint", "http://x", "--sk", "s").returncode == 2
    assert cli.run("--sk", "s", "job", "list").returncode == 2


def test_without_any_identity_the_cli_says_what_to_do(cli: Cli, elsewhere: dict[str, str]) -> None:
    error = cli.fails("job", "list", env=elsewhere)
    assert "openarts configure" in error


def _keys_profile(cli: Cli, server: ServerProcess, name: str, *extra: str) -> dict[str, str]:
    row = server.credentials()
    cli.ok(
        "configure",
        "--profile",
        name,
        "--endpoint",
        server.endpoint,
        "--ak",
        row["Access Key Id"],
        *extra,
        env={"OPENARTS_SK": row["Secret Access Key"]},
    )
    return row


def test_obs_uses_the_profiles_flags_and_variables_of_every_family(
    cli: Cli, cli_server: ServerProcess, elsewhere: dict[str, str], tmp_path: Path
) -> None:
    row = _keys_profile(cli, cli_server, "keys", "--obs-endpoint", cli_server.obs_endpoint)
    saved = yaml.safe_load(cli.config.read_text())["profiles"]["keys"]
    assert saved["obs_endpoint"] == cli_server.obs_endpoint
    # No server home here: the profile alone says where and who, for obs as for jobs.
    assert "made obs://cli-profile" in cli.ok(
        "--profile", "keys", "obs", "mb", "obs://cli-profile", env=elsewhere
    )
    data = tmp_path / "a.txt"
    data.write_text("alpha")
    by_name = {**elsewhere, "OPENARTS_PROFILE": "keys"}
    cli.ok("obs", "cp", str(data), "obs://cli-profile/in/a.txt", env=by_name)
    assert "obs://cli-profile/in/a.txt" in cli.ok(
        "obs", "ls", "-r", "obs://cli-profile", env=by_name
    )
    listed = json.loads(cli.ok("obs", "ls", "obs://cli-profile/in/", "-o", "json", env=by_name))
    assert listed["objects"] == [{"path": "obs://cli-profile/in/a.txt", "size": 5}]

    # The variables every family reads, with no profile at all.
    variables = {
        **elsewhere,
        "OPENARTS_ENDPOINT": cli_server.endpoint,
        "OPENARTS_AK": row["Access Key Id"],
        "OPENARTS_SK": row["Secret Access Key"],
        "OPENARTS_OBS_ENDPOINT": cli_server.obs_endpoint,
    }
    assert "obs://cli-profile" in cli.ok("obs", "ls", env=variables)
    # The flags obs always had still work: its own endpoint, key and OPENARTS_OBS_SK.
    own = {**elsewhere, "OPENARTS_OBS_SK": row["Secret Access Key"]}
    flagged = ("obs", "ls", "--endpoint", cli_server.obs_endpoint, "--ak", row["Access Key Id"])
    assert "obs://cli-profile" in cli.ok(*flagged, env=own)
    assert "OPENARTS_OBS_SK" in cli.fails(*flagged, env=elsewhere)
    cli.ok("--profile", "keys", "obs", "rm", "-r", "obs://cli-profile", env=elsewhere)


def test_obs_finds_object_storage_beside_the_api(
    cli: Cli, cli_server: ServerProcess, elsewhere: dict[str, str]
) -> None:
    # Without a saved object storage endpoint: the API's host, on the port after the API's
    # (the server's own default placement). This test server put it elsewhere, so the
    # error names where it looked.
    _keys_profile(cli, cli_server, "plain")
    next_port = f"127.0.0.1:{cli_server.port + 1}"
    assert next_port in cli.fails("--profile", "plain", "obs", "ls", env=elsewhere)
    # A profile's saved object storage belongs to its server: with another API endpoint
    # it is not used (the keys would go to the wrong server).
    _keys_profile(cli, cli_server, "saved", "--obs-endpoint", cli_server.obs_endpoint)
    moved = cli.fails(
        "--profile", "saved", "--endpoint", "http://127.0.0.1:9", "obs", "ls", env=elsewhere
    )
    assert "127.0.0.1:10" in moved and "Traceback" not in moved
    assert "http(s)://host" in cli.fails(
        "configure",
        "--endpoint",
        cli_server.endpoint,
        "--ak",
        "AK",
        "--obs-endpoint",
        "nope",
        env={"OPENARTS_SK": "x"},
    )


def test_obs_with_a_signed_in_user_says_it_needs_keys(
    cli: Cli, cli_server: ServerProcess, elsewhere: dict[str, str]
) -> None:
    cli.ok(
        "configure",
        "--endpoint",
        cli_server.endpoint,
        "--user",
        "admin",
        "--project",
        "default",
        env={"OPENARTS_PASSWORD": ADMIN_PASSWORD},
    )
    error = cli.fails("obs", "ls", env=elsewhere)
    assert "signs in as user admin" in error and "openarts configure --ak" in error
    # With no profile and no server here: what to do.
    cli.config.unlink()
    assert "no credentials: run `openarts configure`" in cli.fails("obs", "ls", env=elsewhere)
