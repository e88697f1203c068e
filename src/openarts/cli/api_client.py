"""The CLI's blocking client of the public REST API: AK/SK signatures (the SDKs' scheme)
or an IAM token obtained with a user name and password."""

from __future__ import annotations

import ipaddress
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from openarts.cli.profiles import Profile
from openarts.security.signing import sign

TIMEOUT_S = 60.0


class CliError(Exception):
    """Anything the CLI reports as an error line and a non-zero exit."""


class ApiError(CliError):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message} (HTTP {status})" if code else message)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("error_code") or body.get("error_msg")):
        return ApiError(
            response.status_code, str(body.get("error_code", "")), str(body.get("error_msg"))
        )
    text = response.text.strip()[:500] or response.reason_phrase
    return ApiError(response.status_code, "", f"HTTP {response.status_code}: {text}")


def _expired(iso: str) -> bool:
    if not iso:
        return True
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return True
    # A minute of margin: a token that ends mid-command fails confusingly.
    return (moment - datetime.now(UTC)).total_seconds() < 60


_warned: set[str] = set()


def _warn_if_exposed(endpoint: str) -> None:
    """A password or token sent in clear to another machine is said once, not refused:
    a trusted private network may be what the user has."""
    url = httpx.URL(endpoint)
    if url.scheme != "http" or endpoint in _warned:
        return
    try:
        local = ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        local = url.host == "localhost"
    if not local:
        _warned.add(endpoint)
        sys.stderr.write(
            f"warning: {endpoint} is plain HTTP: the password or token crosses the network "
            "unencrypted\n"
        )


def checked_endpoint(endpoint: str) -> str:
    """The endpoint as given, once it is a URL a request can go to: a typo in the port
    is named here, not shown as a traceback at the first call."""
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL as exc:
        raise CliError(f"bad endpoint {endpoint}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CliError(f"the endpoint must be http(s)://host[:port], not {endpoint}")
    return endpoint


class ApiClient:
    def __init__(self, profile: Profile) -> None:
        if not profile.endpoint:
            raise CliError(
                "no endpoint: run `openarts configure`, or give --endpoint / OPENARTS_ENDPOINT"
            )
        self.profile = profile
        self.endpoint = checked_endpoint(profile.endpoint.rstrip("/"))
        self.http = httpx.Client(timeout=TIMEOUT_S)
        self._project_id = profile.project_id

    # Identity

    @property
    def signs(self) -> bool:
        return bool(self.profile.access_key and self.profile.secret_key)

    def sign_in(self, password: str) -> dict[str, Any]:
        """A project-scoped token for the profile's user; the token body (with
        ``project.id`` and ``expires_at``)."""
        user: dict[str, Any] = {"name": self.profile.user, "password": password}
        if self.profile.domain:
            user["domain"] = {"name": self.profile.domain}
        project = (
            {"id": self.profile.project_id}
            if self.profile.project_id
            else {"name": self.profile.project_name or "default"}
        )
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": project},
            }
        }
        response = self._send(
            "POST",
            "/v3/auth/tokens",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        if response.status_code != 201:
            raise _api_error(response)
        try:
            token: dict[str, Any] = response.json()["token"]
            self.profile.token = response.headers["X-Subject-Token"]
            self.profile.token_expires_at = token["expires_at"]
            self._project_id = self.profile.project_id = token["project"]["id"]
            self.profile.project_name = token["project"]["name"]
        except (KeyError, TypeError, ValueError):
            raise CliError(f"{self.endpoint} answered the sign-in without a token") from None
        self.profile.token_endpoint = self.endpoint
        return token

    def _ensure_identity(self) -> None:
        if self.signs:
            return
        elsewhere = self.profile.token_endpoint.rstrip("/") not in ("", self.endpoint)
        if elsewhere and not (self.profile.user and self.profile.password):
            # A token works as a bearer anywhere: it goes only where it was issued.
            raise CliError(
                f"the saved sign-in is for {self.profile.token_endpoint}, not "
                f"{self.endpoint}: sign in there with `openarts configure`, or set "
                "OPENARTS_PASSWORD"
            )
        if self.profile.token and not elsewhere and not _expired(self.profile.token_expires_at):
            return
        if self.profile.user and self.profile.password:
            self.sign_in(self.profile.password)
            return
        if self.profile.token:
            raise CliError(
                "the saved sign-in has expired: run `openarts configure` again, or set "
                "OPENARTS_PASSWORD"
            )
        raise CliError(
            "no credentials: run `openarts configure` (AK/SK, or user name and password), "
            "or set OPENARTS_AK/OPENARTS_SK"
        )

    def login_pair(self) -> tuple[str, str]:
        """What a registry login sends for this profile: its AK and SK, or its user name
        and a current token (signing in first when needed)."""
        if self.signs:
            return self.profile.access_key, self.profile.secret_key
        self._ensure_identity()
        return self.profile.user, self.profile.token

    @property
    def project_id(self) -> str:
        if not self._project_id:
            self._ensure_identity()
        if not self._project_id:
            self._project_id = self._project_by_name(self.profile.project_name)
        return self._project_id

    def projects(self) -> list[dict[str, Any]]:
        """The projects the caller's user may use (IAM's GET /v3/auth/projects)."""
        answer = self.call("GET", "/v3/auth/projects")
        listed = answer.get("projects", []) if isinstance(answer, dict) else []
        return [project for project in listed if isinstance(project, dict)]

    def for_project(self, project_id: str) -> ApiClient:
        """A client for another of the caller's projects: the same keys (an AK/SK works in
        every project of its user), or the token rescoped to that project (a token is
        good in one project only)."""
        if project_id == self.project_id:
            return self
        other = ApiClient(replace(self.profile, project_id=project_id, project_name=""))
        if self.signs:
            return other
        self._ensure_identity()
        body = {
            "auth": {
                "identity": {"methods": ["token"], "token": {"id": self.profile.token}},
                "scope": {"project": {"id": project_id}},
            }
        }
        response = self._send(
            "POST",
            "/v3/auth/tokens",
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "X-Auth-Token": self.profile.token},
        )
        if response.status_code != 201:
            raise _api_error(response)
        try:
            other.profile.token = response.headers["X-Subject-Token"]
            other.profile.token_expires_at = response.json()["token"]["expires_at"]
        except (KeyError, TypeError, ValueError):
            raise CliError(f"{self.endpoint} answered the rescoping without a token") from None
        other.profile.token_endpoint = self.endpoint
        return other

    def _project_by_name(self, name: str) -> str:
        projects = self.projects()
        if not name and len(projects) != 1:
            names = ", ".join(str(p.get("name")) for p in projects) or "none"
            raise CliError(
                "name the project (--project-id, OPENARTS_PROJECT_ID or OPENARTS_PROJECT, or "
                f"openarts configure --project); yours: {names}"
            )
        for project in projects:
            if not name or project.get("name") == name:
                return str(project["id"])
        raise CliError(f"no project named {name!r} among yours")

    # Requests

    def _send(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        url = self.endpoint + path
        if not self.signs:
            _warn_if_exposed(self.endpoint)
        try:
            return self.http.request(method, url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise CliError(f"{method} {url}: no answer in {TIMEOUT_S:.0f} s") from None
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.endpoint}: {exc}") from None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        """``path`` may hold ``{project_id}``; the answer whatever its status."""
        self._ensure_identity()
        if "{project_id}" in path:
            path = path.replace("{project_id}", self.project_id)
        query = {key: value for key, value in (params or {}).items() if value is not None}
        if query:
            path += "?" + str(httpx.QueryParams(query))
        content = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if self.signs:
            headers = sign(
                method=method,
                url=self.endpoint + path,
                access_key=self.profile.access_key,
                secret_key=self.profile.secret_key,
                headers=headers,
                body=content,
            )
        else:
            headers["X-Auth-Token"] = self.profile.token
        return self._send(method, path, content, headers)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """The answer's JSON (None when empty); any 4xx/5xx raises ApiError."""
        response = self.request(method, path, body, params=params)
        if response.status_code >= 400:
            raise _api_error(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text
