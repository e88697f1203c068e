"""Wire shapes of inference services under /v1/{project_id}/services: deploy, list, show,
update (which also starts and stops a service), delete, monitoring, update logs, event logs
and the deployment flavors.

Every shape follows the reference's Service Management pages. The official SDK this
project tests against speaks only the v2 service API, so it has no say here. Where the
pages disagree with themselves the choice is written beside the field:

* ``additional_properties`` is listed as a map of names to objects, but clients send (and
  answers carry) one flat object, {"smn_notification": {...}, "log_report_channels": [...]};
  the flat object is what is read.
* Numbers documented as Integer are sent as text in the examples ("weight": "70"); numeric
  text is taken, booleans are not.
* Enumerations are matched in any case and kept as the reference spells them.

Rules that need a stored service (the weights, batch and pool rules of an update) are
offered as :meth:`ServiceUpdate.problem_for`, so the router applies them once it has read
the service's inference type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from openarts.domain.service_rules import (
    CUSTOM_SPECIFICATION,
    REAL_TIME,
    InferType,
    service_problem,
)
from openarts.domain.services import ServiceStatus
from openarts.schemas.common import MAX_EPOCH, MAX_OFFSET, Shape, WireModel


def _spelled(values: Sequence[str]) -> Callable[[object], object]:
    """A before-validator that maps any casing of one of ``values`` to its spelling."""
    by_fold = {value.casefold(): value for value in values}

    def canonical(value: object) -> object:
        if isinstance(value, str):
            return by_fold.get(value.strip().casefold(), value)
        return value

    return canonical


def _not_bool(value: object) -> object:
    """Lax integers would take true as 1; a count or a weight sent as a boolean is a
    client mistake worth reporting."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _scalar_text(value: object) -> object:
    """Environment values written as bare numbers or booleans in hand-written bodies are
    taken as their text; anything else is left to fail."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _id_text(value: object) -> object:
    """The list example writes workspace_id as the number 0; answers carry text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Whole = Annotated[int, BeforeValidator(_not_bool)]
Real = Annotated[float, BeforeValidator(_not_bool)]

# -- enumerations -------------------------------------------------------------------------
# edge is named by the deploy page only (for some regions); it is taken everywhere so
# edge services can be listed and their flavors asked for.
INFER_TYPES: Final[tuple[str, ...]] = get_args(InferType)

SERVICE_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in ServiceStatus)
# finished is reached by batch services only; pending and waiting by real-time ones only.
BATCH_ONLY_STATUSES: Final = ("finished",)
REAL_TIME_ONLY_STATUSES: Final = ("pending", "waiting")
# What an update may ask a service to become.
TargetStatus = Literal["running", "stopped"]
TARGET_STATUSES: Final[tuple[str, ...]] = get_args(TargetStatus)
# A config entry's status in answers: the six service statuses its table lists, plus
# notReady, which the details example reports for an instance still starting.
CONFIG_STATUSES: Final = (
    "running",
    "deploying",
    "concerning",
    "failed",
    "stopped",
    "finished",
    "notReady",
)
# An edge node's model instance, and the edge host itself.
NODE_INSTANCE_STATUSES: Final = ("running", "stopped", "notReady", "failed")
NODE_STATES: Final = ("RUNNING", "FAIL", "UNCONNECTED")

ScheduleType = Literal["stop"]
SCHEDULE_TYPES: Final[tuple[str, ...]] = get_args(ScheduleType)
TimeUnit = Literal["DAYS", "HOURS", "MINUTES"]
TIME_UNITS: Final[tuple[str, ...]] = get_args(TimeUnit)
TIME_UNIT_SECONDS: Final = {"DAYS": 86_400, "HOURS": 3_600, "MINUTES": 60}

LoadBalancerPolicy = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"]
LOAD_BALANCER_POLICIES: Final[tuple[str, ...]] = get_args(LoadBalancerPolicy)

MappingType = Literal["file", "csv"]
MAPPING_TYPES: Final[tuple[str, ...]] = get_args(MappingType)
SrcType = Literal["ManifestFile"]
SRC_TYPES: Final[tuple[str, ...]] = get_args(SrcType)

AffinityMode = Literal["required", "preferred"]
AFFINITY_MODES: Final[tuple[str, ...]] = get_args(AffinityMode)
StorageType = Literal["sfs_turbo"]
STORAGE_TYPES: Final[tuple[str, ...]] = get_args(StorageType)
LogPipelineType = Literal["LTS"]
LOG_PIPELINE_TYPES: Final[tuple[str, ...]] = get_args(LogPipelineType)

# SMN event IDs a service notifies on: 1 failed, 3 running, 7 concerning, 11 pending.
SmnEvent = Literal[1, 3, 7, 11]
SMN_EVENTS: Final[tuple[int, ...]] = get_args(SmnEvent)
SMN_EVENT_STATUSES: Final = {1: "failed", 3: "running", 7: "concerning", 11: "pending"}

ServiceSortBy = Literal["publish_at", "service_name", "transition_at"]
SERVICE_SORT_KEYS: Final[tuple[str, ...]] = get_args(ServiceSortBy)
DEFAULT_SERVICE_SORT_BY: Final = "publish_at"
EventSortBy = Literal["occur_time"]
EVENT_SORT_KEYS: Final[tuple[str, ...]] = get_args(EventSortBy)
DEFAULT_EVENT_SORT_BY: Final = "occur_time"
SortOrder = Literal["asc", "desc"]
SORT_ORDERS: Final[tuple[str, ...]] = get_args(SortOrder)
DEFAULT_ORDER: Final = "desc"
EventType = Literal["normal", "abnormal"]
EVENT_TYPES: Final[tuple[str, ...]] = get_args(EventType)
UpdateResult = Literal["SUCCESS", "FAIL", "RUNNING"]
UPDATE_RESULTS: Final[tuple[str, ...]] = get_args(UpdateResult)
EdgeOperation = Literal["deploy", "delete"]
EDGE_OPERATIONS: Final[tuple[str, ...]] = get_args(EdgeOperation)

AnyCaseInferType = Annotated[InferType, BeforeValidator(_spelled(INFER_TYPES))]
AnyCaseStatus = Annotated[ServiceStatus, BeforeValidator(_spelled(SERVICE_STATUSES))]
AnyCaseTargetStatus = Annotated[TargetStatus, BeforeValidator(_spelled(TARGET_STATUSES))]
AnyCaseScheduleType = Annotated[ScheduleType, BeforeValidator(_spelled(SCHEDULE_TYPES))]
AnyCaseTimeUnit = Annotated[TimeUnit, BeforeValidator(_spelled(TIME_UNITS))]
AnyCasePolicy = Annotated[LoadBalancerPolicy, BeforeValidator(_spelled(LOAD_BALANCER_POLICIES))]
AnyCaseMappingType = Annotated[MappingType, BeforeValidator(_spelled(MAPPING_TYPES))]
AnyCaseSrcType = Annotated[SrcType, BeforeValidator(_spelled(SRC_TYPES))]
AnyCaseAffinityMode = Annotated[AffinityMode, BeforeValidator(_spelled(AFFINITY_MODES))]
AnyCaseStorageType = Annotated[StorageType, BeforeValidator(_spelled(STORAGE_TYPES))]
AnyCasePipelineType = Annotated[LogPipelineType, BeforeValidator(_spelled(LOG_PIPELINE_TYPES))]
AnyCaseSortBy = Annotated[ServiceSortBy, BeforeValidator(_spelled(SERVICE_SORT_KEYS))]
AnyCaseEventSortBy = Annotated[EventSortBy, BeforeValidator(_spelled(EVENT_SORT_KEYS))]
AnyCaseOrder = Annotated[SortOrder, BeforeValidator(_spelled(SORT_ORDERS))]
AnyCaseEventType = Annotated[EventType, BeforeValidator(_spelled(EVENT_TYPES))]

# -- bounds -------------------------------------------------------------------------------
# The reference gives only the length; the ModelArts SDK guide adds the character set
# (letters, digits, Chinese characters, "-" and "_"), which every example keeps to.
SERVICE_NAME_MAX: Final = 64
SERVICE_NAME_PATTERN: Final = "^[A-Za-z0-9_\u4e00-\u9fa5-]{1,64}$"
DESCRIPTION_MAX: Final = 100
# The two pages forbid different characters: deploy refuses !<>+&"' and update <>=&"'.
CREATE_DESCRIPTION_FORBIDDEN: Final = "!<>+&\"'"
UPDATE_DESCRIPTION_FORBIDDEN: Final = "<>=&\"'"
CREATE_DESCRIPTION_PATTERN: Final = "^[^!<>+&\"']*$"
UPDATE_DESCRIPTION_PATTERN: Final = "^[^<>=&\"']*$"
DEFAULT_WORKSPACE: Final = "0"
INSTANCE_COUNT_MIN: Final = 1
INSTANCE_COUNT_MAX: Final = 128
WEIGHT_MIN: Final = 0
WEIGHT_MAX: Final = 100
PRIORITY_MIN: Final = 1
PRIORITY_MAX: Final = 3
CPU_MIN: Final = 0.01
# CPU and GPU counts keep two decimals ("the third decimal place is rounded off").
SPEC_DECIMALS: Final = 2
LTS_ID_MAX: Final = 64
SMN_URN_PREFIX: Final = "urn:smn:"
# Characters an event filter may not hold.
EVENT_INFO_FORBIDDEN: Final = "`(){}';,[]<>/?"
EVENT_INFO_PATTERN: Final = r"^[^`(){}';,\[\]<>/?]*$"
# Paths a persistent volume may not cover: the reference names / and /var/run; the rest
# are the other directories a container cannot start without.
SYSTEM_DIRECTORIES: Final = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib64",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/var",
        "/var/run",
    }
)
# Environment names a container runtime accepts.
ENV_NAME_PATTERN: Final = r"^[-._A-Za-z][-._A-Za-z0-9]*$"
# The reference sets no page ceiling; its default is also ours.
LIST_DEFAULT_LIMIT: Final = 1000
LIST_MAX_LIMIT: Final = 1000
# A DELETE may name several services, comma-separated.
DELETE_IDS_MAX: Final = 100
# Where the inference API of a service lives, under the gateway's address.
INFER_PATH_PREFIX: Final = "/v1/infers"
# Caps the reference does not give; ours, wide enough for real use.
_ID: Final = 64
_SHORT: Final = 256
_PATH: Final = 1024
_MANY: Final = 100
_ENV_VALUE: Final = 4096
# Keeps a stop time (now + duration) inside 64-bit epoch milliseconds.
SCHEDULE_DURATION_MAX: Final = 1_000_000

SERVICE_LIST_QUERY: Final = (
    "service_id",
    "service_name",
    "model_id",
    "workspace_id",
    "infer_type",
    "status",
    "offset",
    "limit",
    "sort_by",
    "order",
    "tags",
)
MONITOR_QUERY: Final = ("node_id",)
LOGS_QUERY: Final = ("update_time",)
EVENTS_QUERY: Final = (
    "event_type",
    "event_info",
    "start_time",
    "end_time",
    "offset",
    "limit",
    "sort_by",
    "order",
)
SPECIFICATIONS_QUERY: Final = ("is_personal_cluster", "infer_type", "limit", "offset")

Ident = Annotated[str, StringConstraints(min_length=1, max_length=_ID)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=_SHORT)]
EnvName = Annotated[
    str, StringConstraints(min_length=1, max_length=_SHORT, pattern=ENV_NAME_PATTERN)
]
EnvValue = Annotated[str, BeforeValidator(_scalar_text), StringConstraints(max_length=_ENV_VALUE)]
AbsolutePath = Annotated[str, StringConstraints(min_length=1, max_length=_PATH, pattern="^/")]


# -- request pieces -----------------------------------------------------------------------
class Schedule(WireModel):
    """Stop the service ``duration`` ``time_unit`` after it starts."""

    duration: Whole = Field(ge=1, le=SCHEDULE_DURATION_MAX)
    time_unit: AnyCaseTimeUnit
    type: AnyCaseScheduleType

    @property
    def seconds(self) -> int:
        return self.duration * TIME_UNIT_SECONDS[self.time_unit]


class CustomSpec(WireModel):
    """The resources of a ``custom`` specification (dedicated pools only)."""

    gpu_p4: Real | None = Field(default=None, ge=0)
    # MB.
    memory: Whole = Field(ge=1)
    cpu: Real = Field(ge=CPU_MIN)
    # Sent by Huawei's Terraform provider; not in the reference.
    ascend_a310: Whole | None = Field(default=None, ge=0)

    @field_validator("cpu", "gpu_p4")
    @classmethod
    def _two_decimals(cls, value: float | None) -> float | None:
        return None if value is None else round(value, SPEC_DECIMALS)


class LogVolume(WireModel):
    """A host directory mounted for logs (dedicated pools only)."""

    host_path: AbsolutePath
    mount_path: AbsolutePath


class PersistentVolume(WireModel):
    name: Label | None = None
    mount_path: AbsolutePath
    storage_type: AnyCaseStorageType | None = None
    # The SFS Turbo ID when an EFS file system is mounted.
    source_address: str | None = Field(default=None, min_length=1, max_length=_PATH)

    @field_validator("mount_path")
    @classmethod
    def _not_a_system_directory(cls, value: str) -> str:
        parts = [part for part in value.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise ValueError("mount_path must not leave its directory")
        if "/" + "/".join(parts) in SYSTEM_DIRECTORIES:
            raise ValueError(f"mount_path must not be the system directory {value}")
        return value


class ModelAdditionalProperties(WireModel):
    """Deployment extras of one model. The table makes this a map of names to objects;
    clients send the object itself."""

    log_volume: list[LogVolume] | None = Field(default=None, max_length=_MANY)
    # Unset means 1. Below 1 a share of the instances, from 1 a number of them.
    max_surge: Real | None = Field(default=None, gt=0)
    # Unset means 0, so 0 is taken although the table asks for more than 0.
    max_unavailable: Real | None = Field(default=None, ge=0)
    termination_grace_period_seconds: Whole | None = Field(default=None, ge=0)
    persistent_volumes: list[PersistentVolume] | None = Field(default=None, max_length=_MANY)


class AffinityNodeInfo(WireModel):
    # The node's private IP address.
    name: Label


class AffinityPoolInfo(WireModel):
    pool_name: Ident
    nodes: list[AffinityNodeInfo] = Field(max_length=_MANY)


class NodeAffinity(WireModel):
    mode: AnyCaseAffinityMode
    pool_infos: list[AffinityPoolInfo] | None = Field(default=None, max_length=_MANY)


class ServiceAffinity(WireModel):
    node_affinity: NodeAffinity | None = None


class ServiceConfig(WireModel):
    """One model of a service (the request's ``config`` entries, deploy and update)."""

    custom_spec: CustomSpec | None = None
    envs: dict[EnvName, EnvValue] | None = Field(default=None, max_length=_MANY)
    # A flavor from GET .../services/specifications, or "custom" with custom_spec.
    specification: str = Field(min_length=1, max_length=_SHORT)
    # Required for real-time services, whose weights add up to 100.
    weight: Whole | None = Field(default=None, ge=WEIGHT_MIN, le=WEIGHT_MAX)
    deploy_timeout_in_seconds: Whole | None = Field(default=None, ge=1)
    model_id: str = Field(min_length=1, max_length=_ID)
    # Batch services: the input (OBS path), the model's API to call, how input maps to
    # requests, and where results go.
    src_path: str | None = Field(default=None, min_length=1, max_length=_PATH)
    req_uri: str | None = Field(default=None, min_length=1, max_length=_PATH)
    mapping_type: AnyCaseMappingType | None = None
    # A dedicated pool for this model; only together with one at the service level.
    cluster_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    pool_name: str | None = Field(default=None, min_length=1, max_length=_ID)
    # IEF edge node IDs.
    nodes: list[Ident] | None = Field(default=None, max_length=_MANY)
    # CSV column indexes of each input parameter (mapping_type csv).
    mapping_rule: dict[str, object] | None = None
    src_type: AnyCaseSrcType | None = None
    dest_path: str | None = Field(default=None, min_length=1, max_length=_PATH)
    instance_count: Whole = Field(ge=INSTANCE_COUNT_MIN, le=INSTANCE_COUNT_MAX)
    additional_properties: ModelAdditionalProperties | None = None
    affinity: ServiceAffinity | None = None

    @model_validator(mode="after")
    def _companions_are_present(self) -> Self:
        if self.specification == CUSTOM_SPECIFICATION and self.custom_spec is None:
            raise ValueError("custom_spec is required when specification is custom")
        if self.mapping_type == "csv" and self.mapping_rule is None:
            raise ValueError("mapping_rule is required when mapping_type is csv")
        return self

    @property
    def names_pool(self) -> bool:
        return self.cluster_id is not None or self.pool_name is not None

    @property
    def has_log_volume(self) -> bool:
        extras = self.additional_properties
        return extras is not None and bool(extras.log_volume)


class SmnNotification(WireModel):
    topic_urn: str = Field(min_length=len(SMN_URN_PREFIX) + 1, max_length=_SHORT)
    events: list[SmnEvent] = Field(max_length=len(SMN_EVENTS))

    @field_validator("topic_urn")
    @classmethod
    def _is_an_smn_urn(cls, value: str) -> str:
        if not value.startswith(SMN_URN_PREFIX):
            raise ValueError(f"topic_urn must be an SMN topic URN ({SMN_URN_PREFIX}...)")
        return value


class LtsConfiguration(WireModel):
    # "contains 64 characters" is read as a ceiling: LTS IDs are 36-character UUIDs.
    log_group_id: str = Field(min_length=1, max_length=LTS_ID_MAX)
    log_stream_id: str = Field(min_length=1, max_length=LTS_ID_MAX)


class LogReportPipeline(WireModel):
    type: AnyCasePipelineType
    configuration: LtsConfiguration | None = None


class ServiceAdditionalProperties(WireModel):
    """Service extras. The table marks smn_notification mandatory inside a map that
    clients never send; as a flat object it is optional, so that websocket_upgrade or LTS
    can be set alone."""

    smn_notification: SmnNotification | None = None
    # Empty or absent: no LTS reporting. Cannot be turned off once on.
    log_report_channels: list[LogReportPipeline] | None = Field(default=None, max_length=_MANY)
    # Unset means false on deploy and "as before" on update; once on it stays on.
    websocket_upgrade: bool | None = None


class ServiceSecret(WireModel):
    # The reference spells these in camel case, mouthPath included.
    secretId: str = Field(min_length=1, max_length=_SHORT)
    mouthPath: str = Field(min_length=1, max_length=_PATH)


# -- requests -----------------------------------------------------------------------------
class ServiceCreate(WireModel):
    """POST /v1/{project_id}/services body."""

    workspace_id: str = Field(default=DEFAULT_WORKSPACE, min_length=1, max_length=_ID)
    # One entry per schedule type, and stop is the only type.
    schedule: list[Schedule] | None = Field(default=None, max_length=len(SCHEDULE_TYPES))
    # Dedicated pool: an old-style cluster (cluster_id, or an edge pool for edge services)
    # or a new-style pool (pool_name, which wins). Neither means the shared pool.
    cluster_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    pool_name: str | None = Field(default=None, min_length=1, max_length=_ID)
    infer_type: AnyCaseInferType
    # Once set it cannot change; a dedicated pool's own network wins over it.
    vpc_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    service_name: str = Field(max_length=SERVICE_NAME_MAX, pattern=SERVICE_NAME_PATTERN)
    description: str | None = Field(
        default=None, max_length=DESCRIPTION_MAX, pattern=CREATE_DESCRIPTION_PATTERN
    )
    security_group_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    subnet_network_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    config: list[ServiceConfig] = Field(min_length=1, max_length=_MANY)
    additional_properties: ServiceAdditionalProperties | None = None
    load_balancer_policy: AnyCasePolicy | None = None
    service_secrets: list[ServiceSecret] | None = Field(default=None, max_length=_MANY)
    priority: Whole | None = Field(default=None, ge=PRIORITY_MIN, le=PRIORITY_MAX)

    @model_validator(mode="after")
    def _follows_the_service_rules(self) -> Self:
        if self.vpc_id is not None:
            for name in ("subnet_network_id", "security_group_id"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required when vpc_id is set")
        problem = service_problem(
            self.infer_type,
            config=self.config,
            schedule=self.schedule,
            load_balancer_policy=self.load_balancer_policy,
            priority=self.priority,
            service_cluster=self.cluster_id is not None,
            service_pool_name=self.pool_name is not None,
        )
        if problem is not None:
            raise ValueError(problem)
        return self


class ServiceUpdate(WireModel):
    """PUT /v1/{project_id}/services/{service_id} body. Every field is optional: what is
    left out stays as it is. When status and config both come, only status is applied."""

    schedule: list[Schedule] | None = Field(default=None, max_length=len(SCHEDULE_TYPES))
    description: str | None = Field(
        default=None, max_length=DESCRIPTION_MAX, pattern=UPDATE_DESCRIPTION_PATTERN
    )
    config: list[ServiceConfig] | None = Field(default=None, min_length=1, max_length=_MANY)
    status: AnyCaseTargetStatus | None = None
    additional_properties: ServiceAdditionalProperties | None = None
    load_balancer_policy: AnyCasePolicy | None = None
    service_secrets: list[ServiceSecret] | None = Field(default=None, max_length=_MANY)
    priority: Whole | None = Field(default=None, ge=PRIORITY_MIN, le=PRIORITY_MAX)

    @property
    def effective_config(self) -> list[ServiceConfig] | None:
        """The config to apply: none when the body also changes the status."""
        return None if self.status is not None else self.config


# -- query strings ------------------------------------------------------------------------
class ServiceListQuery(WireModel):
    """GET /v1/{project_id}/services query string. Filters are exact unless noted."""

    service_id: str | None = Field(default=None, max_length=_ID)
    service_name: str | None = Field(default=None, max_length=SERVICE_NAME_MAX)
    model_id: str | None = Field(default=None, max_length=_ID)
    workspace_id: str | None = Field(default=None, max_length=_ID)
    infer_type: AnyCaseInferType | None = None
    status: AnyCaseStatus | None = None
    # The page calls it the "start page"; the cloud's clients page by record count, so it
    # is the number of records to skip.
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(default=LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    sort_by: AnyCaseSortBy = DEFAULT_SERVICE_SORT_BY
    order: AnyCaseOrder = DEFAULT_ORDER
    tags: str | None = Field(default=None, max_length=_PATH)


class ServiceMonitorQuery(WireModel):
    """GET .../services/{service_id}/monitor query string: one edge node, or all."""

    node_id: str | None = Field(default=None, min_length=1, max_length=_ID)


class ServiceLogsQuery(WireModel):
    """GET .../services/{service_id}/logs query string: the update made at this time
    (epoch milliseconds), or all."""

    update_time: int | None = Field(default=None, ge=0, le=MAX_EPOCH)


class ServiceEventsQuery(WireModel):
    """GET .../services/{service_id}/events query string. Times are epoch milliseconds."""

    event_type: AnyCaseEventType | None = None
    # Matched in the English event text.
    event_info: str | None = Field(default=None, max_length=_SHORT, pattern=EVENT_INFO_PATTERN)
    start_time: int | None = Field(default=None, ge=0, le=MAX_EPOCH)
    end_time: int | None = Field(default=None, ge=0, le=MAX_EPOCH)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(default=LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    sort_by: AnyCaseEventSortBy = DEFAULT_EVENT_SORT_BY
    order: AnyCaseOrder = DEFAULT_ORDER

    @model_validator(mode="after")
    def _window_is_ordered(self) -> Self:
        if (
            self.start_time is not None
            and self.end_time is not None
            and self.start_time > self.end_time
        ):
            raise ValueError("start_time must not be later than end_time")
        return self


class SpecificationQuery(WireModel):
    """GET /v1/{project_id}/services/specifications query string. The table types limit
    and offset as strings; numeric text is what they hold."""

    is_personal_cluster: bool = False
    infer_type: AnyCaseInferType = REAL_TIME
    limit: int = Field(default=LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


def split_service_ids(path_value: str) -> list[str]:
    """The services a DELETE names: one ID, or several joined by commas. Repeats count
    once; an empty name is refused."""
    ids: list[str] = []
    for part in path_value.split(","):
        service_id = part.strip()
        if not service_id:
            raise ValueError("service_id must not hold an empty name")
        if len(service_id) > _ID:
            raise ValueError(f"service_id {service_id[:16]}... is too long")
        if service_id not in ids:
            ids.append(service_id)
    if len(ids) > DELETE_IDS_MAX:
        raise ValueError(f"service_id may name at most {DELETE_IDS_MAX} services")
    return ids


def infer_address(gateway: str, service_id: str, cluster_id: str | None = None) -> str:
    """A real-time service's access_address: {gateway}/v1/infers[/{cluster_id}]/{id}.

    The details example puts the service's cluster_id between the prefix and the service
    ID; a service on the shared pool has no cluster segment.
    """
    parts = [gateway.rstrip("/") + INFER_PATH_PREFIX]
    if cluster_id:
        parts.append(cluster_id)
    parts.append(service_id)
    return "/".join(parts)


# -- answers ------------------------------------------------------------------------------
WireText = Annotated[str, BeforeValidator(_id_text)]


class ServiceDeployOut(Shape):
    """POST /v1/{project_id}/services answer."""

    service_id: str
    # Billing resource IDs created for the service's models.
    resource_ids: list[str] | None = None


class ServiceUpdateOut(Shape):
    """PUT .../services/{service_id} answer: an empty object."""


class ServiceDeleteOut(Shape):
    """DELETE .../services/{service_id} answer: an empty object."""


class ScheduleOut(Shape):
    duration: int | None = None
    time_unit: str | None = None
    type: str | None = None


class CustomSpecOut(Shape):
    gpu_p4: float | None = None
    memory: int | None = None
    cpu: float | None = None
    ascend_a310: int | None = None


class LogVolumeOut(Shape):
    host_path: str | None = None
    mount_path: str | None = None


class PersistentVolumeOut(Shape):
    name: str | None = None
    mount_path: str | None = None
    storage_type: str | None = None
    source_address: str | None = None


class ModelAdditionalPropertiesOut(Shape):
    log_volume: list[LogVolumeOut] | None = None
    max_surge: float | None = None
    max_unavailable: float | None = None
    termination_grace_period_seconds: int | None = None
    persistent_volumes: list[PersistentVolumeOut] | None = None


class AffinityNodeInfoOut(Shape):
    name: str | None = None


class AffinityPoolInfoOut(Shape):
    pool_name: str | None = None
    nodes: list[AffinityNodeInfoOut] | None = None


class NodeAffinityOut(Shape):
    mode: str | None = None
    pool_infos: list[AffinityPoolInfoOut] | None = None


class ServiceAffinityOut(Shape):
    node_affinity: NodeAffinityOut | None = None


class SmnNotificationOut(Shape):
    topic_urn: str | None = None
    events: list[int] | None = None


class LtsConfigurationOut(Shape):
    log_group_id: str | None = None
    log_stream_id: str | None = None


class LogReportPipelineOut(Shape):
    type: str | None = None
    configuration: LtsConfigurationOut | None = None


class ServiceAdditionalPropertiesOut(Shape):
    """The tables type the answers' additional_properties as a string map; what was set
    on deploy or update is given back in its own shape."""

    smn_notification: SmnNotificationOut | None = None
    log_report_channels: list[LogReportPipelineOut] | None = None
    websocket_upgrade: bool | None = None


class EdgeNodeOut(Shape):
    """An edge node of an edge service (the request names nodes by ID only)."""

    memory: int | None = None
    os_version: str | None = None
    cpu: int | None = None
    # YYYY-MM-DDThh:mm:ss, UTC.
    created_at: str | None = None
    description: str | None = None
    # Why instance_status is failed or notReady.
    message: str | None = None
    predict_url: str | None = None
    enable_gpu: bool | None = None
    gpu_num: int | None = None
    host_ips: list[str] | None = None
    updated_at: str | None = None
    node_label: str | None = None
    os_type: str | None = None
    name: str | None = None
    os_name: str | None = None
    arch: str | None = None
    id: str | None = None
    instance_status: str | None = None
    state: str | None = None
    deployment_num: int | None = None
    host_name: str | None = None


class ServiceConfigOut(Shape):
    """One model of a service in the details answer. A subscribed (shared) service shows
    only model_id, model_name and model_version."""

    model_version: str | None = None
    finished_time: int | None = None
    custom_spec: CustomSpecOut | None = None
    envs: dict[str, str] | None = None
    specification: str | None = None
    weight: int | None = None
    # "auto" for ExeML models.
    source_type: str | None = None
    model_id: str | None = None
    src_path: str | None = None
    req_uri: str | None = None
    mapping_type: str | None = None
    start_time: int | None = None
    cluster_id: str | None = None
    nodes: list[EdgeNodeOut] | None = None
    mapping_rule: dict[str, object] | None = None
    model_name: str | None = None
    src_type: str | None = None
    dest_path: str | None = None
    instance_count: int | None = None
    status: str | None = None
    scaling: bool | None = None
    support_debug: bool | None = None
    additional_properties: ModelAdditionalPropertiesOut | None = None
    pool_name: str | None = None
    affinity: ServiceAffinityOut | None = None


class ServiceOut(Shape):
    """GET .../services/{service_id} answer. Times are epoch milliseconds."""

    service_id: str | None = None
    service_name: str | None = None
    description: str | None = None
    tenant: str | None = None
    project: str | None = None
    owner: str | None = None
    publish_at: int | None = None
    infer_type: str | None = None
    workspace_id: WireText | None = None
    cluster_id: str | None = None
    vpc_id: str | None = None
    subnet_network_id: str | None = None
    security_group_id: str | None = None
    status: str | None = None
    # Percent, while deploying.
    progress: int | None = None
    # Why the service failed.
    error_msg: str | None = None
    config: list[ServiceConfigOut] | None = None
    # Where inference requests go (real-time services); see infer_address.
    access_address: str | None = None
    # The same under a bound custom domain.
    bind_access_address: str | None = None
    invocation_times: int | None = None
    failed_times: int | None = None
    is_shared: bool | None = None
    shared_count: int | None = None
    schedule: list[ScheduleOut] | None = None
    update_time: int | None = None
    debug_url: str | None = None
    # When the stop schedule fires; absent without one.
    due_time: int | None = None
    operation_time: int | None = None
    transition_at: int | None = None
    is_free: bool | None = None
    additional_properties: ServiceAdditionalPropertiesOut | None = None
    pool_name: str | None = None
    load_balancer_policy: str | None = None
    priority: int | None = None


class ServiceSummaryOut(Shape):
    """One service of the list."""

    failed_times: int | None = None
    owner: str | None = None
    due_time: int | None = None
    # Batch services only.
    finished_time: int | None = None
    infer_type: str | None = None
    service_name: str | None = None
    description: str | None = None
    project: str | None = None
    invocation_times: int | None = None
    publish_at: int | None = None
    workspace_id: WireText | None = None
    schedule: list[ScheduleOut] | None = None
    # Batch services only.
    start_time: int | None = None
    operation_time: int | None = None
    is_shared: bool | None = None
    service_id: str | None = None
    progress: int | None = None
    shared_count: int | None = None
    tenant: str | None = None
    status: str | None = None
    # A string in the table ("false" by default).
    is_opened_sample_collection: str | None = None
    transition_at: int | None = None
    is_free: bool | None = None
    additional_properties: ServiceAdditionalPropertiesOut | None = None


class ServiceListOut(Shape):
    """GET /v1/{project_id}/services answer: total_count matches without paging, count
    is this page's length."""

    total_count: int
    count: int
    services: list[ServiceSummaryOut]


class MonitorOut(Shape):
    """Resource use of one model (real-time) or one edge node (edge). Memory in MB."""

    failed_times: int | None = None
    model_version: str | None = None
    cpu_memory_total: int | None = None
    gpu_usage: float | None = None
    node_name: str | None = None
    gpu_total: float | None = None
    model_id: str | None = None
    invocation_times: int | None = None
    cpu_core_usage: float | None = None
    cpu_core_total: float | None = None
    model_name: str | None = None
    cpu_memory_usage: int | None = None
    node_id: str | None = None
    model_running_instance_count: int | None = None
    model_instance_count: int | None = None
    gpu_memory_total: float | None = None
    gpu_memory_usage: float | None = None
    npu_total: float | None = None
    npu_usage: float | None = None
    npu_memory_total: float | None = None
    npu_memory_usage: float | None = None


class ServiceMonitorOut(Shape):
    """GET .../services/{service_id}/monitor answer."""

    service_name: str | None = None
    service_id: str | None = None
    monitors: list[MonitorOut]
    service_running_instance_count: int | None = None
    service_instance_count: int | None = None
    req_count_per_min: int | None = None


class ServiceLogConfigOut(Shape):
    model_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    weight: int | None = None
    specification: str | None = None
    custom_spec: CustomSpecOut | None = None
    envs: dict[str, str] | None = None
    cluster_id: str | None = None
    instance_count: int | None = None
    additional_properties: ModelAdditionalPropertiesOut | None = None


class EdgeUpdateResultOut(Shape):
    result: bool | None = None
    node_name: str | None = None
    operation: str | None = None
    node_id: str | None = None


class ServiceLogOut(Shape):
    """One update of the service: what it asked for and how it ended."""

    update_time: int | None = None
    result: str | None = None
    config: list[ServiceLogConfigOut] | None = None
    # Edge services only.
    success_num: int | None = None
    failed_num: int | None = None
    result_detail: list[EdgeUpdateResultOut] | None = None
    cluster_id: str | None = None
    extend_config: list[str] | None = None


class ServiceLogsOut(Shape):
    """GET .../services/{service_id}/logs answer."""

    service_name: str | None = None
    service_id: str | None = None
    logs: list[ServiceLogOut]


class ServiceEventOut(Shape):
    event_type: str | None = None
    event_info: str | None = None
    occur_time: int | None = None


class ServiceEventsOut(Shape):
    """GET .../services/{service_id}/events answer."""

    service_name: str | None = None
    total_count: int
    service_id: str | None = None
    count: int
    events: list[ServiceEventOut]


class CpuInfoOut(Shape):
    arch: str | None = None
    cpu: float | None = None


class MemoryInfoOut(Shape):
    unit: str | None = None
    memory: int | None = None


class GpuInfoOut(Shape):
    brand: str | None = None
    version: str | None = None
    unit: str | None = None
    memory: int | None = None
    gpu: float | None = None


class NpuInfoOut(Shape):
    brand: str | None = None
    version: str | None = None
    unit: str | None = None
    memory: int | None = None
    npu: int | None = None


class SpecificationOut(Shape):
    """One deployment flavor. is_open false means it must be applied for first."""

    is_open: bool | None = None
    spec_status: str | None = None
    specification: str | None = None
    billing_spec: str | None = None
    category: str | None = None
    cpu_info: CpuInfoOut | None = None
    memory_info: MemoryInfoOut | None = None
    gpu_info: GpuInfoOut | None = None
    npu_info: NpuInfoOut | None = None
    # Empty for models users built, "auto" for ExeML ones (billed differently).
    source_type: str | None = None
    is_free: bool | None = None
    over_quota: bool | None = None
    extend_params: int | None = None
    display_en: str | None = None
    display_cn: str | None = None


class SpecificationListOut(Shape):
    """GET /v1/{project_id}/services/specifications answer."""

    total_count: int
    count: int
    specifications: list[SpecificationOut]


# Status codes of the reference: every call answers 200 with a body ({} for update and
# delete).
DEPLOY_STATUS: Final = 200
UPDATE_STATUS: Final = 200
DELETE_STATUS: Final = 200
