"""The embedded image registry: the CNCF Distribution registry (Debian's
``docker-registry``), started and stopped with the server, storing under its home.

It trusts the API's token route (``auth.token``) for who may do what, so it holds no
password; the platform's nodes pull with a secret of their own, kept in the home and
given to Podman in an auth file (never on a command line).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from openarts.backends.images import RegistryLogin
from openarts.security.registry_tokens import ISSUER, SERVICE, TokenSigner
from openarts.services.registry_access import (
    NODE_USER,
    ExternalRegistry,
    RegistryStatus,
    RegistryTokens,
)
from openarts.settings import Settings

log = logging.getLogger(__name__)

TOKEN_PATH = "/openarts/registry/token"
INSTALL_HINT = "apt-get install docker-registry (the CNCF Distribution registry)"


class RegistryUnavailable(RuntimeError):
    """The embedded registry cannot run here; the message says why."""


def no_registry() -> RegistryStatus:
    return RegistryStatus(False, "none (OPENARTS_REGISTRY=off)", kind="none")


def _private(path: Path, text: str) -> None:
    """``text`` in ``path``, readable by the server only; replaced whole (a pull reading
    the nodes' auth file while another worker writes it never sees half a file)."""
    if path.exists() and path.read_text("utf-8") == text:
        path.chmod(0o600)
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _dying_with_parent() -> list[str]:
    """What runs the registry so that it ends when the server does, even by kill -9 (no
    orphan keeps the port; the pid file covers one an older server left): util-linux's
    setpriv sets the parent-death signal and executes it. No code of ours runs between
    fork and exec (a preexec_fn could deadlock in a process with threads)."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        log.warning("no setpriv (util-linux): the registry may outlive a killed server")
        return []
    return [setpriv, "--pdeathsig", "TERM", "--"]


class EmbeddedRegistry:
    """One registry process for one server home."""

    def __init__(self, settings: Settings, binary: str | None = None) -> None:
        self.binary = binary if binary is not None else shutil.which("docker-registry") or ""
        self.folder = settings.home / "registry"
        self.host = "127.0.0.1" if settings.host in {"0.0.0.0", ""} else settings.host
        self.bind_host = settings.host
        self.port = settings.registry_port or _free_port(settings.host)
        self.realm = settings.endpoint + TOKEN_PATH
        self._process: subprocess.Popen[bytes] | None = None
        self.status = RegistryStatus(False, f"starting on {self.address}", self.address)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def prepare(self) -> tuple[RegistryTokens, RegistryLogin]:
        """The key, the nodes' secret and the configuration, made once per home (the
        secret and key are kept); RegistryUnavailable without the registry program."""
        if not self.binary:
            raise RegistryUnavailable(f"docker-registry not found: {INSTALL_HINT}")
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        signer = TokenSigner.in_folder(self.folder / "keys")
        secret_file = self.folder / "node-secret"
        if not secret_file.exists():
            _private(secret_file, secrets.token_urlsafe(32))
        node_secret = secret_file.read_text("utf-8").strip()
        auth = base64.b64encode(f"{NODE_USER}:{node_secret}".encode()).decode()
        auth_file = self.folder / "node-auth.json"
        _private(auth_file, json.dumps({"auths": {self.address: {"auth": auth}}}))
        _private(self.folder / "config.yml", self._config())
        tokens = RegistryTokens(address=self.address, signer=signer, node_secret=node_secret)
        # Plain HTTP on loopback: the registry is reached from this machine only.
        return tokens, RegistryLogin(self.address, auth_file, tls_verify=False)

    def _config(self) -> str:
        bind = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        # JSON is YAML: no YAML writer needed, every value quoted.
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.folder / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": f"{bind}:{self.port}", "secret": secrets.token_hex(16)},
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.folder / "keys" / "token-cert.pem"),
                }
            },
        }
        return json.dumps(config, indent=1) + "\n"

    def start(self) -> None:
        """Start the process (not waiting for it: ``wait_ready`` does). In a session of
        its own: a Ctrl-C reaches the server, which stops it after its graceful stop."""
        log_file = open(self.folder / "registry.log", "ab")  # noqa: SIM115 - the child's
        try:
            self._process = subprocess.Popen(
                [*_dying_with_parent(), self.binary, "serve", str(self.folder / "config.yml")],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                start_new_session=True,
            )
        except OSError as error:
            raise RegistryUnavailable(f"docker-registry could not be started: {error}") from None
        finally:
            log_file.close()
        (self.folder / "registry.pid").write_text(f"{self._process.pid}\n")

    def end_leftover(self) -> None:
        """End a registry an older server of this home left running (it holds the port)."""
        pid_file = self.folder / "registry.pid"
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.folder / "config.yml").encode() not in cmdline:
            return
        log.warning("ending the registry (pid %d) an earlier server left running", pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            return
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    async def wait_ready(self, timeout_s: float = 10.0) -> RegistryStatus:
        """Until the registry answers (401: it wants a token), or why it does not (kept
        in ``status``)."""
        process = self._process
        assert process is not None
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    return self._now(False, self._failure(process.returncode))
                try:
                    answer = await client.get(f"http://{self.address}/v2/")
                    if answer.status_code == 401:
                        return self._now(True, self.how_to_use())
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        return self._now(False, f"it did not answer on {self.address} in {timeout_s:.0f} s")

    def _now(self, enabled: bool, summary: str) -> RegistryStatus:
        self.status.enabled, self.status.summary = enabled, summary
        return self.status

    def how_to_use(self) -> str:
        return (
            f"{self.address}: `podman login --tls-verify=false {self.address}` with your "
            f"user name and password (or AK and SK), then push to "
            f"{self.address}/<project name>/<image>:<tag>"
        )

    def _failure(self, code: int) -> str:
        said = ""
        try:
            lines = (self.folder / "registry.log").read_text("utf-8", "replace").splitlines()
            said = lines[-1].strip() if lines else ""
        except OSError:
            pass
        return f"docker-registry ended (exit {code}) on {self.address}: {said or 'no output'}"

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        (self.folder / "registry.pid").unlink(missing_ok=True)
        self._process = None


def start_registry(settings: Settings) -> EmbeddedRegistry | None:
    """The registry started and answering, for a process that serves through workers;
    None (with the reason logged) when the settings name none or another, or it cannot
    run."""
    if settings.registry != "embedded":
        return None
    registry = EmbeddedRegistry(settings)
    try:
        registry.prepare()
    except RegistryUnavailable as error:
        log.warning("no image registry: %s", error)
        return None
    registry.end_leftover()
    try:
        registry.start()
    except RegistryUnavailable as error:
        log.error("no image registry: %s", error)
        return None
    status = asyncio.run(registry.wait_ready())
    if not status.enabled:
        log.error("the image registry is not running: %s", status.summary)
    return registry


def external_registry(settings: Settings) -> tuple[ExternalRegistry, RegistryLogin, RegistryStatus]:
    """The registry at ``registry_url`` as the platform uses it: its account written for
    Podman into a private auth file in the home (never a command line)."""
    url = (settings.registry_url or "").rstrip("/")
    address = url.partition("://")[2]
    password = settings.registry_password.get_secret_value() if settings.registry_password else None
    auth_file = None
    if settings.registry_user and password:
        folder = settings.home / "registry"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        auth_file = folder / "external-auth.json"
        pair = base64.b64encode(f"{settings.registry_user}:{password}".encode()).decode()
        _private(auth_file, json.dumps({"auths": {address: {"auth": pair}}}))
    registry = ExternalRegistry(address, url, settings.registry_user, password)
    login = RegistryLogin(address, auth_file, tls_verify=url.startswith("https://"))
    status = RegistryStatus(
        True,
        f"{address} (external: push with its own accounts, to <project name>/<image>:<tag>; "
        "SWR hosts stand for it)",
        address,
        kind="external",
    )
    return registry, login, status
