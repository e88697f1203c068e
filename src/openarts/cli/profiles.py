"""Where the CLI finds its server and identity: flags, then environment variables, then a
named profile in the config file (`openarts configure`), then the local server's own
credentials.csv (so the CLI works at once beside `make run`).

The config file is written with mode 0600, as cloud CLIs keep their keys. A password is
never written down: `configure` with a user name and password stores the token it obtained
(project-scoped, with its expiry) and the CLI asks for a new sign-in when it runs out, or
uses OPENARTS_PASSWORD where a script sets it.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from openarts.settings import Settings

DEFAULT_PROFILE = "default"


class ProfileError(Exception):
    """A profile is missing, unreadable or incomplete; the message says what to do."""


@dataclass
class Profile:
    endpoint: str = ""
    project_id: str = ""
    project_name: str = ""
    access_key: str = ""
    secret_key: str = ""
    user: str = ""
    domain: str = ""
    token: str = ""
    token_expires_at: str = ""
    # Where the token was issued: it is never sent anywhere else.
    token_endpoint: str = ""
    # The object storage (S3) endpoint of the server at ``endpoint``, where it is not the
    # one `object_storage` works out (`openarts configure --obs-endpoint`).
    obs_endpoint: str = ""
    # Only ever from the environment or a flag: never saved.
    password: str = field(default="", repr=False)

    def saved(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value and key != "password"}


def config_path() -> Path:
    given = os.environ.get("OPENARTS_CONFIG")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "openarts" / "config.yaml"


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path} is not valid YAML: {exc}") from None
    profiles = loaded.get("profiles") if isinstance(loaded, dict) else None
    if not isinstance(profiles, dict):
        raise ProfileError(f"{path} has no 'profiles' mapping; run `openarts configure`")
    return {str(name): dict(values or {}) for name, values in profiles.items()}


def save_profile(path: Path, name: str, profile: Profile) -> None:
    profiles = read_profiles(path)
    profiles[name] = profile.saved()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({"profiles": profiles}, sort_keys=True)
    # A new file (mkstemp makes it 0600) replaces the old one whole: the keys are never
    # readable by others, even where the old file was, and a crash loses no profile.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _known(values: dict[str, Any]) -> dict[str, str]:
    names = {item.name for item in fields(Profile)}
    return {key: str(value) for key, value in values.items() if key in names and value}


def _local_server(settings: Settings) -> dict[str, str]:
    """The admin identity a local server wrote into its home on first start."""
    path = settings.credentials_file
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle), None)
    if row is None:
        return {}
    return {
        "endpoint": row.get("Endpoint") or "",
        "project_id": row.get("Project Id") or "",
        "project_name": row.get("Project Name") or "",
        "access_key": row.get("Access Key Id") or "",
        "secret_key": row.get("Secret Access Key") or "",
        "obs_endpoint": row.get("OBS Endpoint") or "",
    }


ENVIRONMENT = {
    "endpoint": "OPENARTS_ENDPOINT",
    "project_id": "OPENARTS_PROJECT_ID",
    "project_name": "OPENARTS_PROJECT",
    "access_key": "OPENARTS_AK",
    "secret_key": "OPENARTS_SK",
    "user": "OPENARTS_USER",
    "domain": "OPENARTS_DOMAIN",
    "password": "OPENARTS_PASSWORD",
    "obs_endpoint": "OPENARTS_OBS_ENDPOINT",
}
# Where the server's object storage listens when the API's endpoint names no port: the
# server puts it on the port after the API's (8080 and 8081 by default).
OBS_PORT = 8081


def resolve(settings: Settings, profile_name: str | None, flags: dict[str, str | None]) -> Profile:
    """The profile to use: each field from the first of flags, environment, the named
    profile, the local server's credentials."""
    name = profile_name or os.environ.get("OPENARTS_PROFILE") or DEFAULT_PROFILE
    profiles = read_profiles(config_path())
    if profile_name and name not in profiles:
        raise ProfileError(
            f"no profile named {name!r} in {config_path()}; "
            f"run `openarts configure --profile {name}`"
        )
    stored = _known(profiles.get(name, {}))
    layers = [
        _known(flags),
        _known({key: os.environ.get(variable) for key, variable in ENVIRONMENT.items()}),
        stored,
    ]
    merged: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.items():
            merged.setdefault(key, value)
    # A saved object storage endpoint belongs to the profile's own server: with another
    # API endpoint (a flag, OPENARTS_ENDPOINT) it would send that server's keys elsewhere.
    if merged.get("obs_endpoint") == stored.get("obs_endpoint") and _base(
        merged.get("endpoint", "")
    ) != _base(stored.get("endpoint", "")):
        merged.pop("obs_endpoint", None)
    local = _local_server(settings)
    has_identity = merged.get("access_key") or merged.get("user") or merged.get("token")
    endpoint = merged.get("endpoint", "").rstrip("/")
    # The local server's admin keys serve only the local server: never another endpoint,
    # and no other identity is sent to the local server by default.
    if not has_identity and local and endpoint in ("", local["endpoint"].rstrip("/")):
        for key, value in _known(local).items():
            merged.setdefault(key, value)
    elif local and endpoint == local["endpoint"].rstrip("/") and local["obs_endpoint"]:
        # Where the local server's object storage is, it wrote down beside its keys.
        merged.setdefault("obs_endpoint", local["obs_endpoint"])
    return Profile(**merged)


def _base(endpoint: str) -> str:
    return endpoint.rstrip("/")


def object_storage(profile: Profile) -> str:
    """The object storage endpoint of the profile's server: the one saved or given, else
    the API's host on the port after the API's (OBS_PORT where the API's URL names none),
    as the server places it by default. "" without an endpoint at all."""
    if profile.obs_endpoint:
        return _base(profile.obs_endpoint)
    if not profile.endpoint:
        return ""
    url = urlsplit(profile.endpoint)
    host = url.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = url.port
    except ValueError:
        port = None
    return f"{url.scheme}://{host}:{port + 1 if port else OBS_PORT}"
