"""The tables. Times are epoch milliseconds (BigInteger), the API's own unit."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from openarts.db.base import Base


class Domain(Base):
    """An account: it owns users and projects."""

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    # The unprivileged uid its tasks run as outside their sandboxes (domain/sandbox_view).
    sandbox_uid: Mapped[int] = mapped_column(Integer, unique=True)


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[int] = mapped_column(BigInteger)


class Credential(Base):
    """An AK/SK pair; the SK is stored encrypted (see security/secrets_box.py)."""

    __tablename__ = "credentials"

    access_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Token(Base):
    """A project-scoped IAM token; only its SHA-256 is stored."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class Agency(Base):
    __tablename__ = "agencies"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Authorization(Base):
    """Lets the platform act for a user (or for every user: user_id 'all') in a project."""

    __tablename__ = "authorizations"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    user_name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(String(255))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """One event row per distinct (resource, reason, message) run; repeats bump ``count``."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_lookup", "project_id", "resource_type", "resource_name", "last_timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_name: Mapped[str] = mapped_column(String(128))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_timestamp: Mapped[int] = mapped_column(BigInteger)
    last_timestamp: Mapped[int] = mapped_column(BigInteger)


class Bucket(Base):
    """An object-storage bucket and the project that owns it."""

    __tablename__ = "buckets"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[int] = mapped_column(BigInteger)


class Workload(Base):
    """Anything that runs: the generic record behind training jobs, notebooks and service
    replicas. Its ``status`` changes only through services.workloads.switch_workload_status.
    """

    __tablename__ = "workloads"
    __table_args__ = (
        Index("ix_workloads_unnoticed", "kind", "noticed", "id"),
        # Stop requests not yet acted on (every pass looks, however long the line).
        Index("ix_workloads_wish", "desired", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    pool: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    desired: Mapped[str] = mapped_column(String(8), default="run")
    spec: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    queued_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    # False from each status move until the owner's reconciler has acted on it: the
    # owner reads only these, however many workloads wait or have ended.
    noticed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


# Each pool's line in admission order (see reconcile/workload_rows.py).
Index(
    "ix_workloads_line",
    Workload.status,
    Workload.pool,
    Workload.priority.desc(),
    Workload.queued_at,
    Workload.id,
)


class WorkloadTask(Base):
    """One process of a workload (one per gang member), with its backend handle."""

    __tablename__ = "workload_tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    node: Mapped[str] = mapped_column(String(128), default="")
    handle: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    vcpus: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    # The node's GPU indices handed to this task, comma-separated ("" for none).
    gpu_ids: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class TaskCredential(Base):
    """A temporary AK/SK that a workload's sandboxed tasks use for the object store:
    it reaches only its project's buckets and works only while the workload has not
    finished (services/task_credentials.py). The SK is stored encrypted."""

    __tablename__ = "task_credentials"

    access_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_id: Mapped[str] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Network(Base):
    """A network record: a validated CIDR that pools may name."""

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("project_id", "display_name"),)

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    description: Mapped[str] = mapped_column(String(100), default="")
    cidr: Mapped[str] = mapped_column(String(43))
    ipv6: Mapped[bool] = mapped_column(Boolean, default=False)
    connection: Mapped[str] = mapped_column(Text, default="{}")  # JSON, as given
    created_at: Mapped[int] = mapped_column(BigInteger)


class Pool(Base):
    """A dedicated resource pool: capacity set apart for one project's work.

    Its ``phase`` changes only through services.pools.switch_pool_phase.
    """

    __tablename__ = "pools"
    __table_args__ = (UniqueConstraint("project_id", "display_name"),)

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    type: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    network: Mapped[str | None] = mapped_column(String(128), index=True)
    node_prefix: Mapped[str] = mapped_column(String(64), default="")
    labels: Mapped[str] = mapped_column(Text, default="{}")  # JSON: user labels as given
    annotations: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    spec: Mapped[str] = mapped_column(Text)  # JSON: scope, resources, driver, ...
    created_at: Mapped[int] = mapped_column(BigInteger)
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)


class PoolNode(Base):
    """One node of a dedicated pool. On the local backend it is a slice of a host node
    (``host``): its vCPUs, memory and GPU indices are set apart from the public pool."""

    __tablename__ = "pool_nodes"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    pool_name: Mapped[str] = mapped_column(ForeignKey("pools.name", ondelete="CASCADE"), index=True)
    flavor: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(128))
    vcpus: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    gpu_ids: Mapped[str] = mapped_column(String(256), default="")
    phase: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)


class PoolTag(Base):
    __tablename__ = "pool_tags"

    pool_name: Mapped[str] = mapped_column(
        ForeignKey("pools.name", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class PoolSample(Base):
    """A pool's measured usage at one moment, for the monitor API (kept for a day)."""

    __tablename__ = "pool_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool_name: Mapped[str] = mapped_column(ForeignKey("pools.name", ondelete="CASCADE"))
    taken_at: Mapped[int] = mapped_column(BigInteger)
    cpu_cores: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    gpu_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_pool_samples_pool_time", "pool_name", "taken_at"),)


class Algorithm(Base):
    """A reusable algorithm: code, boot file or command, engine, parameters, channels.
    The request's parts the platform does not interpret are kept as they came (JSON)."""

    __tablename__ = "algorithms"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    user_name: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class TrainingJob(Base):
    """A training job. ``plan`` is what runs (resolved at creation), ``view`` what the
    API shows of its algorithm and spec; ``phase`` changes only through
    services.training_jobs.switch_job_phase."""

    __tablename__ = "training_jobs"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_training_jobs_phase", "phase"),
        # A project's jobs in creation order: a page is read from either end.
        Index("ix_training_jobs_listing", "project_id", "created_at", "id"),
        # Jobs asked to terminate and not yet on their way.
        Index("ix_training_jobs_wish", "desired", "phase"),
        # A project's jobs in some phases (a list filtered by phase reads only those).
        Index("ix_training_jobs_project_phase", "project_id", "phase"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="job")
    description: Mapped[str] = mapped_column(String(256), default="")
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    user_id: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(64), default="")
    annotations: Mapped[str] = mapped_column(Text, default="{}")
    algorithm_id: Mapped[str | None] = mapped_column(String(36), index=True)
    plan: Mapped[str] = mapped_column(Text)
    view: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(16))
    secondary_phase: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    desired: Mapped[str] = mapped_column(String(16), default="run")
    workload_id: Mapped[str | None] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # Per task of the latest attempt: {task, exit_code, message}; and the end of the log
    # of the task that failed.
    task_statuses: Mapped[str] = mapped_column(Text, default="[]")
    log_tail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class ResourceCount(Base):
    """How many resources of a kind a project has, kept with every create and delete, so
    a list's total is read, not counted."""

    __tablename__ = "resource_counts"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class TrainingSample(Base):
    """One task's measured usage at one moment (the metrics API averages them)."""

    __tablename__ = "training_samples"
    __table_args__ = (Index("ix_training_samples_job_task_time", "job_id", "task", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("training_jobs.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(32))
    taken_at: Mapped[int] = mapped_column(BigInteger)
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    gpu_percent: Mapped[float | None] = mapped_column(Float)
    gpu_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)


class Image(Base):
    """A notebook image a project registered or saved from an instance (presets live in
    code: domain/images.py). ``layers`` is the JSON list of site-packages folders its
    environment stacks, its own first; ``base_image_id`` the preset at the bottom."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("project_id", "namespace", "name", "tag"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    namespace: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(128))
    swr_path: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(512), default="")
    origin: Mapped[str] = mapped_column(String(16))
    service_type: Mapped[str] = mapped_column(String(16))
    arch: Mapped[str] = mapped_column(String(16))
    resource_categories: Mapped[str] = mapped_column(Text, default="[]")
    dev_services: Mapped[str] = mapped_column(Text, default="[]")
    visibility: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    flavor_type: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    status_message: Mapped[str] = mapped_column(Text, default="")
    size_kb: Mapped[int] = mapped_column(BigInteger, default=0)
    # Empty for a registered container image: it has no environment of ours.
    layers: Mapped[str] = mapped_column(Text, default="[]")
    base_image_id: Mapped[str] = mapped_column(String(36), default="")
    source_notebook_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Notebook(Base):
    """A notebook instance. ``status`` changes only through
    services.notebooks.switch_notebook_status; ``token`` is sealed (SecretBox)."""

    __tablename__ = "notebooks"
    __table_args__ = (Index("ix_notebooks_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(512), default="")
    feature: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    user_id: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(64), default="")
    flavor: Mapped[str] = mapped_column(String(128))
    image_id: Mapped[str] = mapped_column(String(36), index=True)
    pool_id: Mapped[str] = mapped_column(String(64), default="")
    volume: Mapped[str] = mapped_column(Text, default="{}")
    endpoints: Mapped[str] = mapped_column(Text, default="[]")
    hooks: Mapped[str] = mapped_column(Text, default="{}")
    token: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    # What the user asked for last: run, stop, delete or snapshot.
    desired: Mapped[str] = mapped_column(String(16), default="run")
    workload_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Where its Jupyter listens (loopback of its node), set when the task starts.
    address: Mapped[str] = mapped_column(String(128), default="")
    lease_type: Mapped[str] = mapped_column(String(8), default="TIMING")
    lease_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    lease_duration: Mapped[int] = mapped_column(BigInteger)
    lease_started_at: Mapped[int] = mapped_column(BigInteger)
    lease_updated_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NotebookMount(Base):
    """Object storage mounted into a running instance, under its work folder's data/."""

    __tablename__ = "notebook_mounts"
    __table_args__ = (UniqueConstraint("notebook_id", "mount_path"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notebook_id: Mapped[str] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(String(1024))
    mount_path: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class Model(Base):
    """An imported model: its files are copied into the platform's model store when it is
    published. ``status`` changes only through services.models.switch_model_status."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    model_type: Mapped[str] = mapped_column(String(32))
    runtime: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(String(128), default="")
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    source_location: Mapped[str] = mapped_column(String(1024))
    execution_code: Mapped[str] = mapped_column(String(1024), default="")
    source_job_id: Mapped[str] = mapped_column(String(64), default="")
    source_job_version: Mapped[str] = mapped_column(String(64), default="")
    source_type: Mapped[str] = mapped_column(String(16), default="")
    model_algorithm: Mapped[str] = mapped_column(String(64), default="")
    model_metrics: Mapped[str] = mapped_column(Text, default="")
    install_type: Mapped[str] = mapped_column(Text, default="[]")
    # JSON of what the request gave; completed from config.json when it is read.
    apis: Mapped[str] = mapped_column(Text, default="[]")
    dependencies: Mapped[str] = mapped_column(Text, default="[]")
    input_params: Mapped[str] = mapped_column(Text, default="[]")
    output_params: Mapped[str] = mapped_column(Text, default="[]")
    model_docs: Mapped[str] = mapped_column(Text, default="[]")
    health: Mapped[str] = mapped_column(Text, default="{}")
    initial_config: Mapped[str] = mapped_column(Text, default="")
    cmd: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # The shared environment it is served in (domain.models.environment_key), once made.
    environment: Mapped[str] = mapped_column(String(64), default="")
    # A model of type Image that is a container image: the reference its replicas run
    # once published (the platform's copy pinned by digest, or the source tag itself).
    image: Mapped[str] = mapped_column(String(1024), default="", server_default="")
    # "true"/"false" as the request said for an image (the reference's default: true).
    source_copy: Mapped[str] = mapped_column(String(8), default="", server_default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Service(Base):
    """A real-time service. ``status`` changes only through
    services.inference_services.switch_service_status; ``config`` is the JSON list of its
    model entries (model_id, weight, specification, instance_count, envs)."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(128), default="")
    infer_type: Mapped[str] = mapped_column(String(16))
    workspace_id: Mapped[str] = mapped_column(String(64), default="0")
    owner: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # What the user asked for last: run, stop or delete.
    desired: Mapped[str] = mapped_column(String(16), default="run")
    config: Mapped[str] = mapped_column(Text)
    # Bumped by each change of config: replicas of older generations are replaced.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    schedule: Mapped[str] = mapped_column(Text, default="[]")
    due_time: Mapped[int | None] = mapped_column(BigInteger)
    pool_name: Mapped[str] = mapped_column(String(64), default="")
    load_balancer_policy: Mapped[str] = mapped_column(String(32), default="")
    additional_properties: Mapped[str] = mapped_column(Text, default="{}")
    invocation_times: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_times: Mapped[int] = mapped_column(BigInteger, default=0)
    # JSON {model_id: [calls, failures]}, as the gateway counted them.
    model_calls: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    transition_at: Mapped[int] = mapped_column(BigInteger)


class ServiceReplica(Base):
    """One model server of a service: a workload of one task on a loopback port."""

    __tablename__ = "service_replicas"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[str] = mapped_column(String(36))
    generation: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    workload_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # host:port of its server, set when its task is prepared.
    address: Mapped[str] = mapped_column(String(128), default="")
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    # Failures in a row before it ever answered.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    restart_at: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    ready_at: Mapped[int | None] = mapped_column(BigInteger)


class ServiceUpdate(Base):
    """The update log of a service: each change asked for and how it ended."""

    __tablename__ = "service_updates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    config: Mapped[str] = mapped_column(Text)
    # RUNNING until the change is in place, then SUCCESS or FAIL.
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
