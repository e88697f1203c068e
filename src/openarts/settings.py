"""The one Settings object. It is built when the server or CLI starts, never at import time."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable, read from ``OPENARTS_*`` variables or given explicitly."""

    model_config = SettingsConfigDict(env_prefix="OPENARTS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The embedded S3-compatible endpoint listens here, on the same host.
    obs_port: int = Field(default=8081, ge=0, le=65535)
    # The web console has a port (an origin) of its own: notebooks run users' JavaScript
    # on the API's origin, which must not be able to read console pages.
    console_port: int = Field(default=8082, ge=0, le=65535)
    # The image registry whose namespaces are the projects' (SWR hosts stand for it):
    # "embedded" runs the CNCF Distribution registry (Debian's docker-registry) on
    # registry_port, storing under the home, when it is installed; "external" uses the one
    # at registry_url (http:// for one without TLS) with the account registry_user and
    # registry_password; "off": none (images are pulled from where their references say).
    registry: Literal["embedded", "external", "off"] = "embedded"
    registry_port: int = Field(default=8083, ge=0, le=65535)
    registry_url: str | None = None
    registry_user: str | None = None
    registry_password: SecretStr | None = None
    home: Path = Path("~/.openarts")
    # Every task in a sandbox (backends/sandbox.py): "required" refuses to start without
    # one; "off" runs users' code as the server's own user, for single-user machines.
    sandbox: Literal["required", "off"] = "required"
    database_url: str | None = None
    # Server processes answering the API on the same sockets (PostgreSQL only); one of
    # them leads the loops.
    workers: int = Field(default=1, ge=1, le=64)
    # On SQLite, how long a write waits for another's before the request is answered
    # "busy, try again" (ModelArts.6101).
    sqlite_lock_wait_s: float = Field(default=10.0, gt=0)
    log_level: str = "info"

    # Fixed identity for scripted set-ups; applied again (idempotently) on every start.
    admin_ak: str | None = None
    admin_sk: SecretStr | None = None
    project_id: str | None = None
    admin_password: SecretStr | None = None

    token_ttl_s: int = Field(default=24 * 3600, gt=0)
    signature_max_skew_s: int = Field(default=15 * 60, gt=0)
    # How long the server trusts a cached credential or membership lookup: changes made by
    # the CLI directly in the database take effect within this many seconds.
    auth_cache_ttl_s: float = Field(default=5.0, ge=0)
    max_body_bytes: int = Field(default=12 * 1024 * 1024, gt=0)

    # Where object storage lives: "local" (a directory, one folder per bucket) or "s3"
    # (any S3/OBS-compatible endpoint).
    storage: Literal["local", "s3"] = "local"
    storage_root: Path | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_addressing: Literal["path", "virtual"] = "path"

    # A multipart upload neither completed nor aborted is removed once this old.
    multipart_expiry_s: float = Field(default=24 * 3600.0, gt=0)

    # The workload reconciler: how often it looks without being woken, how long a blocked
    # workload may wait before nothing behind it may pass, and SIGTERM's grace period.
    reconcile_interval_s: float = Field(default=2.0, gt=0)
    starvation_s: float = Field(default=300.0, ge=0)
    stop_grace_s: float = Field(default=10.0, ge=0)
    # A delegated cgroup to make the local tasks' cgroups in, as a cgroup path (as in
    # /proc/self/cgroup) or its directory under /sys/fs/cgroup: on cgroup v2 an empty group
    # whose memory and cpu controllers may be enabled; on v1 the same path in the memory
    # and cpu hierarchies. Unset, they are made in the server's own cgroup.
    cgroup_parent: Path | None = None

    # What runs the tasks: "local" (processes on this machine) or "ray" (the nodes of a
    # Ray cluster the user started, joined at ray_address; pip install 'openarts[ray]').
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    # The address of the Ray node on this machine the server joins through (default: the
    # host of ray_address, i.e. the server runs on the head node).
    ray_node_ip: str | None = None
    # A file holding the cluster's token when it runs with RAY_AUTH_MODE=token.
    ray_auth_token_file: Path | None = None
    # Runners kept started on each Ray node, so a task starts in one call instead of
    # waiting a second or more for a new Ray worker process.
    ray_spare_runners: int = Field(default=1, ge=0, le=16)

    pool_quota: int = Field(default=15, ge=0)
    network_quota: int = Field(default=15, ge=0)
    max_pool_flavors: int = Field(default=10, ge=1)
    # Where networks may be created (os-user-config networkCidrs), as the reference sets.
    network_cidrs: list[str] = Field(default_factory=lambda: ["172.16.0.0/12", "192.168.0.0/16"])
    # Let dedicated pools promise more vCPUs and memory than the hosts have (GPUs never).
    pool_overcommit: bool = False
    # How many times over the public pool promises the vCPUs of a host whose CPUs are
    # shared by time (the local backend); a flavor larger than the host runs capped at it.
    # 1 makes its vCPUs a reservation. Memory and GPUs are never promised twice.
    public_cpu_share: float = Field(default=4.0, ge=1.0, le=64.0)
    # How often the usage of each dedicated pool is sampled for its monitor.
    pool_sample_interval_s: float = Field(default=15.0, gt=0)
    # Where engine environments are made and kept (default: engines/ in the home); homes
    # may share one, so an engine is prepared once per machine.
    engine_cache: Path | None = None
    # How often running training tasks are sampled for their metrics (averaged per minute).
    training_sample_interval_s: float = Field(default=10.0, gt=0)
    # A bucket of the platform's own, in the object store and owned by no project: what
    # it hands out by presigned link (snapshots of training logs) is put there.
    system_bucket: str = Field(default="openarts-system", min_length=3, max_length=63)
    # Notebook leases run this much faster or slower than the wall clock (0.001: a lease
    # of an hour lasts 3.6 s); for tests and demonstrations. The API shows leases unscaled.
    notebook_lease_time_scale: float = Field(default=1.0, gt=0, le=1.0)
    # How long a notebook's Jupyter may take to answer before its start counts as failed.
    notebook_start_timeout_s: float = Field(default=300.0, gt=0)
    # A call through the inference gateway that runs longer is answered 504 (ModelArts
    # documents 40 to 60 s for a prediction).
    infer_timeout_s: float = Field(default=60.0, gt=0)
    # A service replica that ended starts again after this, doubling with each restart
    # (up to 30 s).
    replica_restart_base_s: float = Field(default=1.0, gt=0)

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("network_cidrs")
    @classmethod
    def _valid_blocks(cls, value: list[str]) -> list[str]:
        for block in value:
            ipaddress.ip_network(block, strict=True)  # a ValueError names the bad one
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'openarts.db'}"

    @model_validator(mode="before")
    @classmethod
    def _ports_follow_the_api(cls, given: Any) -> Any:
        """Object storage, the console and the registry follow the API's port (+1, +2, +3)
        unless set: a second server started with only ``--port`` does not collide on the
        others."""
        if not isinstance(given, dict) or given.get("port") in (None, ""):
            return given
        port = int(given["port"])
        for name, step in (("obs_port", 1), ("console_port", 2), ("registry_port", 3)):
            if given.get(name) in (None, ""):
                # Port 0 asks the system for a free one: so do the others.
                given = {**given, name: port + step if port else 0}
        return given

    @model_validator(mode="after")
    def _external_registry_needs_its_url(self) -> Settings:
        if self.registry != "external":
            return self
        url = self.registry_url or ""
        scheme, _, rest = url.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/") or "/" in rest.strip("/"):
            raise ValueError(
                "registry 'external' needs OPENARTS_REGISTRY_URL, as https://host[:port] "
                "(http:// for a registry without TLS)"
            )
        if bool(self.registry_user) != bool(self.registry_password):
            raise ValueError("OPENARTS_REGISTRY_USER and OPENARTS_REGISTRY_PASSWORD go together")
        return self

    @model_validator(mode="after")
    def _ray_needs_address(self) -> Settings:
        if self.backend == "ray" and not self.ray_address:
            raise ValueError(
                "backend 'ray' needs the cluster's address: OPENARTS_RAY_ADDRESS or "
                "--ray-address (host:port of its GCS, as `ray start --head` prints it)"
            )
        return self

    @model_validator(mode="after")
    def _distinct_ports(self) -> Settings:
        ports = {
            "port": self.port,
            "obs_port": self.obs_port,
            "console_port": self.console_port,
            "registry_port": self.registry_port if self.registry == "embedded" else 0,
        }
        given = [(name, value) for name, value in ports.items() if value]
        for index, (name, value) in enumerate(given):
            for other, other_value in given[index + 1 :]:
                if value == other_value:
                    raise ValueError(f"{name} and {other} must differ (both are {value})")
        if self.storage == "s3" and not (
            self.s3_endpoint and self.s3_access_key and self.s3_secret_key
        ):
            raise ValueError(
                "storage 's3' needs OPENARTS_S3_ENDPOINT, OPENARTS_S3_ACCESS_KEY and "
                "OPENARTS_S3_SECRET_KEY"
            )
        return self

    @property
    def resolved_storage_root(self) -> Path:
        return self.storage_root or self.home / "obs"

    @property
    def obs_endpoint(self) -> str:
        return self.endpoint.rsplit(":", 1)[0] + f":{self.obs_port}"

    @property
    def console_endpoint(self) -> str:
        return self.endpoint.rsplit(":", 1)[0] + f":{self.console_port}"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.csv"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "admin-password"

    @property
    def resolved_engine_cache(self) -> Path:
        return self.engine_cache or self.home / "engines"

    @property
    def flavors_override_file(self) -> Path:
        return self.home / "flavors.yaml"

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"
