"""Wire shapes of training jobs: creation, description change, termination, the search
list, task logs, task metrics and job events.

Key names follow the ModelArts v2 training API; the official SDK sends and reads the same
keys. Shapes that only the SDK knows (it is newer than the reference in places) are kept
where dropping them would lose what a client asked for.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    model_validator,
)

from openarts.domain import training
from openarts.schemas.common import MAX_OFFSET, Shape, WireModel

# -- enumerations -------------------------------------------------------------------------
TrainingJobKind = Literal["job", "visualization_job"]
DEFAULT_KIND: Final = "job"

JobPhaseName = Literal[
    "Creating",
    "Pending",
    "Running",
    "Failed",
    "Completed",
    "Terminating",
    "Terminated",
    "Abnormal",
]
# The reference warns these may change; answers carry them as plain strings.
JobSecondaryPhaseName = Literal[
    "Creating",
    "Queuing",
    "Running",
    "Failed",
    "Completed",
    "Terminating",
    "Terminated",
    "CreateFailed",
    "TerminatedFailed",
    "Unknown",
    "Lost",
]

JobActionType = Literal["terminate"]

SearchOrder = Literal["asc", "desc"]
FilterOperator = Literal["between", "like", "in", "not"]
DEFAULT_SORT_BY: Final = "create_time"
# The only sort key the reference names; others are refused by the service with its own
# error code, so sort_by stays a free string here.
SORT_KEYS: Final = ("create_time",)
# Filter keys used by the reference's search example (the tables do not list them).
FILTER_KEYS: Final = (
    "name",
    "create_time",
    "phase",
    "algorithm_name",
    "kind",
    "user_id",
    "runtime_type",
)
SEARCH_MAX_LIMIT: Final = 50

# metadata.annotations keys with a documented meaning.
ANNOTATION_KEYS: Final = (
    "job_template",
    "fault-tolerance/job-retry-num",
    "fault-tolerance/job-unconditional-retry",
    "fault-tolerance/hang-retry",
    "jupyter-lab/enable",
    "tensorboard/enable",
    "mindstudio-insight/enable",
)

SummaryLogType = Literal["tensorboard", "mindstudio-insight"]
RewardMode = Literal["max", "min"]
SearchParamType = Literal["continuous", "discrete"]
AutoStopUnit = Literal["HOURS"]
AffinityType = Literal["cabinet", "hyperinstance"]
NotificationEvent = Literal[
    "JobStarted",
    "JobCompleted",
    "JobFailed",
    "JobTerminated",
    "JobRestarted",
    "JobHanged",
    "JobPreempted",
]
# GPU flavor ids of dedicated pools; 16xlarge exists only on 910A3 supernode pools.
POOL_GPU_FLAVORS: Final = (
    "modelarts.pool.visual.xlarge",
    "modelarts.pool.visual.2xlarge",
    "modelarts.pool.visual.4xlarge",
    "modelarts.pool.visual.8xlarge",
    "modelarts.pool.visual.16xlarge",
)
RESOURCE_POLICY_REGULAR: Final = "regular"
FlavorType = Literal["CPU", "GPU"]

RunningRecordStartType = Literal["init_or_rescheduled", "restarted"]
RecoverPolicy = Literal[
    "npu_proc_restart",
    "gpu_proc_restart",
    "proc_restart",
    "pod_reschedule",
    "job_reschedule",
    "job_reschedule_with_taint",
]

# Task log preview: at most this much of the newest log is returned.
LOG_PREVIEW_MAX_BYTES: Final = 5 * 1024 * 1024
# Task log link: how long the temporary URL works, and the Content-Type header values that
# pick a viewing link or a download link.
LOG_URL_VALID_SECONDS: Final = 300
LogUrlContentType = Literal["text/plain", "application/octet-stream"]

MetricName = Literal["cpuUsage", "memUsage", "gpuUtil", "gpuMemUsage", "npuUtil", "npuMemUsage"]
# A metric sample that could not be collected.
METRIC_MISSING: Final = -1.0

EventLevel = Literal["Info", "Error", "Warning"]
EventSource = Literal["K8S", "Job", "Task"]
EVENTS_DEFAULT_LIMIT: Final = 50
EVENTS_MAX_LIMIT: Final = 100

NAME_PATTERN: Final = training.NAME_PATTERN.pattern
ENV_NAME_PATTERN: Final = training.ENV_NAME_PATTERN.pattern
MAX_ENVIRONMENTS: Final = 100
DESCRIPTION_MAX: Final = 256


# -- shared pieces ------------------------------------------------------------------------
def _scalar_text(value: object) -> object:
    """Hand-written bodies often send numbers or booleans where the API wants strings
    ("node": 1, "enable": true); take those as text and leave anything else to fail."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_text)]
EnvName = Annotated[str, StringConstraints(min_length=1, max_length=8192, pattern=ENV_NAME_PATTERN)]
EnvValue = Annotated[str, BeforeValidator(_scalar_text), StringConstraints(max_length=4096)]
Port = Annotated[int, Field(ge=1, le=65535)]


class ParameterConstraintWire(WireModel):
    type: str | None = None
    editable: bool | None = None
    required: bool | None = None
    sensitive: bool | None = None
    valid_type: str | None = None
    valid_range: list[Text] | None = None


class I18nDescriptionWire(WireModel):
    language: str | None = None
    description: str | None = None


class ParameterWire(WireModel):
    name: str | None = None
    value: Text | None = None
    description: str | None = None
    constraint: ParameterConstraintWire | None = None
    i18n_description: I18nDescriptionWire | None = None


class RewardAttrWire(WireModel):
    name: str | None = None
    mode: RewardMode | None = None
    regex: str | None = None


class SearchParamWire(WireModel):
    name: str | None = None
    param_type: SearchParamType | None = None
    lower_bound: Text | None = None
    upper_bound: Text | None = None
    discrete_points_num: Text | None = None
    discrete_values: list[Text] | None = None


class AlgoConfigParamWire(WireModel):
    key: str | None = None
    value: Text | None = None
    type: str | None = None


class AlgoConfigWire(WireModel):
    name: str | None = None
    params: list[AlgoConfigParamWire] | None = None


class AutoSearchWire(WireModel):
    skip_search_params: str | None = None
    reward_attrs: list[RewardAttrWire] | None = None
    search_params: list[SearchParamWire] | None = None
    algo_configs: list[AlgoConfigWire] | None = None


class JobPoliciesWire(WireModel):
    auto_search: AutoSearchWire | None = None


class ObsUrlWire(WireModel):
    obs_url: str


class DatasetRefWire(WireModel):
    id: str
    version_id: str
    # Filled in by the platform from the dataset version; a client may leave it out.
    obs_url: str | None = None


class InputRemoteWire(WireModel):
    dataset: DatasetRefWire | None = None
    obs: ObsUrlWire | None = None

    @model_validator(mode="after")
    def _names_a_source(self) -> Self:
        if self.dataset is None and self.obs is None:
            raise ValueError("remote must name a dataset or an obs location")
        return self


class RemoteConstraintWire(WireModel):
    data_type: str | None = None
    attributes: str | None = None


class JobInputWire(WireModel):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    local_dir: str | None = None
    # Sent by the SDK, not listed in the reference.
    access_method: str | None = None
    remote: InputRemoteWire
    remote_constraint: list[RemoteConstraintWire] | None = None


class OutputRemoteWire(WireModel):
    obs: ObsUrlWire


class JobOutputWire(WireModel):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    local_dir: str | None = None
    access_method: str | None = None
    remote: OutputRemoteWire


class JobEngineWire(WireModel):
    engine_id: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    image_url: str | None = None
    install_sys_packages: bool | None = None


class PfsSummaryWire(WireModel):
    pfs_path: str


class LogDirWire(WireModel):
    pfs: PfsSummaryWire


class JobSummaryRefWire(WireModel):
    job_id: str


class SummaryDataSourceWire(WireModel):
    job: JobSummaryRefWire


class SummaryWire(WireModel):
    log_type: SummaryLogType | None = None
    log_dir: LogDirWire | None = None
    data_sources: list[SummaryDataSourceWire] | None = None


class NfsVolumeWire(WireModel):
    nfs_server_path: str | None = None
    local_path: str | None = None
    read_only: bool | None = None


class PfsVolumeWire(WireModel):
    pfs_path: str | None = None
    local_path: str | None = None


class ObsVolumeWire(WireModel):
    obs_path: str | None = None
    local_path: str | None = None


class SpecVolumeWire(WireModel):
    nfs: NfsVolumeWire | None = None
    pfs: PfsVolumeWire | None = None
    obs: ObsVolumeWire | None = None


class LogExportPathWire(WireModel):
    obs_url: str | None = None
    host_path: str | None = None


class RequiredAffinityWire(WireModel):
    affinity_type: AffinityType | None = None
    affinity_group_size: int | None = Field(default=None, ge=1)


class SchedulePolicyWire(WireModel):
    required_affinity: RequiredAffinityWire | None = None
    priority: int | None = None
    preemptible: bool | None = None


class MetricsExecWire(WireModel):
    command: list[str] | None = None


class MetricsHttpGetWire(WireModel):
    path: str | None = None
    port: Port | None = None


class CustomMetricWire(WireModel):
    metrics_url: str | None = None
    metrics_port: Port | None = None
    # The SDK describes a collection point as exec or http_get instead of url and port.
    exec: MetricsExecWire | None = None
    http_get: MetricsHttpGetWire | None = None


# -- requests -----------------------------------------------------------------------------
class JobMetadataIn(WireModel):
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    workspace_id: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    annotations: dict[str, Text] | None = None


class JobAlgorithmIn(WireModel):
    id: str | None = None
    name: str | None = None
    subscription_id: str | None = None
    item_version_id: str | None = None
    code_dir: str | None = None
    boot_file: str | None = None
    autosearch_config_path: str | None = None
    autosearch_framework_path: str | None = None
    command: str | None = None
    parameters: list[ParameterWire] | None = None
    policies: JobPoliciesWire | None = None
    inputs: list[JobInputWire] | None = None
    outputs: list[JobOutputWire] | None = None
    engine: JobEngineWire | None = None
    local_code_dir: str | None = None
    working_dir: str | None = None
    environments: dict[EnvName, EnvValue] | None = Field(default=None, max_length=MAX_ENVIRONMENTS)
    summary: SummaryWire | None = None


class SpecResourceIn(WireModel):
    flavor_id: str | None = None
    # The reference gives no bounds; a job needs at least one node.
    node_count: int | None = Field(default=None, ge=1)
    pool_id: str | None = None


class AutoStopWire(WireModel):
    time_unit: AutoStopUnit
    duration: int = Field(ge=1)


class NotificationWire(WireModel):
    topic_urn: str | None = None
    events: list[NotificationEvent] | None = None


class JobSpecIn(WireModel):
    resource: SpecResourceIn | None = None
    volumes: list[SpecVolumeWire] | None = None
    log_export_path: LogExportPathWire | None = None
    auto_stop: AutoStopWire | None = None
    schedule_policy: SchedulePolicyWire | None = None
    notification: NotificationWire | None = None
    custom_metrics: list[CustomMetricWire] | None = None


class SshIn(WireModel):
    key_pair_names: list[str] | None = None


class JobEndpointsIn(WireModel):
    ssh: SshIn | None = None


class TrainingJobCreateIn(WireModel):
    kind: TrainingJobKind
    metadata: JobMetadataIn
    algorithm: JobAlgorithmIn | None = None
    # Heterogeneous task lists are not supported; they are taken as sent so the service can
    # refuse them with its own error rather than a shape complaint.
    tasks: list[dict[str, object]] | None = None
    spec: JobSpecIn | None = None
    endpoints: JobEndpointsIn | None = None


class TrainingJobDescriptionIn(WireModel):
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)


class TrainingJobActionIn(WireModel):
    action_type: JobActionType


class SearchFilterWire(WireModel):
    key: str | None = None
    operator: FilterOperator | None = None
    # create_time bounds are millisecond numbers; they arrive as strings or numbers.
    value: list[Text] | None = None


class TrainingJobSearchIn(WireModel):
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(default=None, ge=1, le=SEARCH_MAX_LIMIT)
    sort_by: str | None = None
    order: SearchOrder | None = None
    group_by: str | None = None
    # Sent by the SDK and echoed in the answer, not listed among the request fields.
    workspace_id: str | None = None
    filters: list[SearchFilterWire] | None = None


class TrainingJobEventsQuery(WireModel):
    """Query string of the events list."""

    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(default=None, ge=1, le=EVENTS_MAX_LIMIT)
    order: SearchOrder | None = None
    start_time: str | None = None
    end_time: str | None = None
    level: EventLevel | None = None
    pattern: str | None = Field(default=None, max_length=256)
    source: EventSource | None = None

    @model_validator(mode="after")
    def _time_window_is_whole(self) -> Self:
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("start_time and end_time must be given together")
        return self


# -- answers ------------------------------------------------------------------------------
class JobMetadataOut(Shape):
    id: str | None = None
    name: str | None = None
    workspace_id: str | None = None
    description: str | None = None
    create_time: int | None = None  # milliseconds
    user_name: str | None = None
    annotations: dict[str, str] | None = None


class TaskStatusOut(Shape):
    task: str | None = None
    exit_code: int | None = None
    message: str | None = None


class RunningRecordOut(Shape):
    start_at: int | None = None  # seconds
    end_at: int | None = None
    start_type: str | None = None
    end_reason: str | None = None
    end_related_task: str | None = None
    end_recover: str | None = None
    end_recover_before_downgrade: str | None = None


class JobStatusOut(Shape):
    # Plain strings: the platform holds phases as its own enums, and the secondary phase
    # list is not promised to stay fixed.
    phase: str | None = None
    secondary_phase: str | None = None
    duration: int | None = None  # milliseconds
    # [timestamp in ms, node count] pairs.
    node_count_metrics: list[list[int]] | None = None
    tasks: list[str] | None = None
    start_time: int | None = None
    task_statuses: list[TaskStatusOut] | None = None
    running_records: list[RunningRecordOut] | None = None


class JobAlgorithmOut(Shape):
    id: str | None = None
    name: str | None = None
    subscription_id: str | None = None
    item_version_id: str | None = None
    code_dir: str | None = None
    boot_file: str | None = None
    autosearch_config_path: str | None = None
    autosearch_framework_path: str | None = None
    command: str | None = None
    parameters: list[ParameterWire] | None = None
    policies: JobPoliciesWire | None = None
    inputs: list[JobInputWire] | None = None
    outputs: list[JobOutputWire] | None = None
    engine: JobEngineWire | None = None
    local_code_dir: str | None = None
    working_dir: str | None = None
    # A list of maps on the way out (a single map on the way in); the SDK reads it so.
    environments: list[dict[str, str]] | None = None
    summary: SummaryWire | None = None


class TaskAlgorithmInputOut(Shape):
    name: str | None = None
    local_dir: str | None = None
    remote: OutputRemoteWire | None = None


class TaskAlgorithmOutputOut(Shape):
    name: str | None = None
    local_dir: str | None = None
    remote: OutputRemoteWire | None = None
    mode: str | None = None
    period: str | None = None


class TaskAlgorithmEngineOut(Shape):
    engine_id: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    v1_compatible: bool | None = None
    run_user: str | None = None
    image_url: str | None = None


class TaskAlgorithmOut(Shape):
    code_dir: str | None = None
    boot_file: str | None = None
    # Single objects, not lists, in both the reference and the SDK.
    inputs: TaskAlgorithmInputOut | None = None
    outputs: TaskAlgorithmOutputOut | None = None
    engine: TaskAlgorithmEngineOut | None = None
    local_code_dir: str | None = None
    working_dir: str | None = None


class BillingOut(Shape):
    code: str | None = None
    unit_num: int | None = None


class CpuOut(Shape):
    arch: str | None = None
    core_num: int | None = None


class GpuOut(Shape):
    unit_num: int | None = None
    product_name: str | None = None
    memory: str | None = None


class NpuOut(Shape):
    unit_num: str | None = None
    product_name: str | None = None
    memory: str | None = None


class MemoryOut(Shape):
    size: int | None = None
    unit: str | None = None


class DiskResponseOut(Shape):
    size: int | None = None
    unit: str | None = None


class DiskOut(Shape):
    # A string here but an integer in the task flavor's disk; both as the reference has it.
    size: str | None = None
    unit: str | None = None


class FlavorInfoResponseOut(Shape):
    max_num: int | None = None
    cpu: CpuOut | None = None
    gpu: GpuOut | None = None
    npu: NpuOut | None = None
    memory: MemoryOut | None = None
    disk: DiskResponseOut | None = None


class TaskFlavorOut(Shape):
    flavor_id: str | None = None
    flavor_name: str | None = None
    max_num: int | None = None
    flavor_type: str | None = None
    billing: BillingOut | None = None
    flavor_info: FlavorInfoResponseOut | None = None
    attributes: dict[str, str] | None = None


class TaskOut(Shape):
    role: str | None = None
    algorithm: TaskAlgorithmOut | None = None
    task_resource: TaskFlavorOut | None = None


class FlavorInfoOut(Shape):
    max_num: int | None = None
    cpu: CpuOut | None = None
    gpu: GpuOut | None = None
    npu: NpuOut | None = None
    memory: MemoryOut | None = None
    disk: DiskOut | None = None


class FlavorDetailOut(Shape):
    flavor_type: str | None = None
    billing: BillingOut | None = None
    flavor_info: FlavorInfoOut | None = None


class ResourceOut(Shape):
    policy: str | None = None
    flavor_id: str | None = None
    flavor_name: str | None = None
    node_count: int | None = None
    pool_id: str | None = None
    flavor_detail: FlavorDetailOut | None = None


class JobSpecOut(Shape):
    resource: ResourceOut | None = None
    volumes: list[SpecVolumeWire] | None = None
    log_export_path: LogExportPathWire | None = None
    schedule_policy: SchedulePolicyWire | None = None
    custom_metrics: list[CustomMetricWire] | None = None


class TaskUrlOut(Shape):
    task: str | None = None
    url: str | None = None


class SshOut(Shape):
    key_pair_names: list[str] | None = None
    task_urls: list[TaskUrlOut] | None = None


class EndpointUrlOut(Shape):
    url: str | None = None
    token: str | None = None


class JobEndpointsOut(Shape):
    ssh: SshOut | None = None
    jupyter_lab: EndpointUrlOut | None = None
    tensorboard: EndpointUrlOut | None = None
    mindstudio_insight: EndpointUrlOut | None = None


class TrainingJobOut(Shape):
    """One job, as create, details, terminate and each search item return it."""

    kind: str | None = DEFAULT_KIND
    metadata: JobMetadataOut | None = None
    status: JobStatusOut | None = None
    algorithm: JobAlgorithmOut | None = None
    tasks: list[TaskOut] | None = None
    spec: JobSpecOut | None = None
    endpoints: JobEndpointsOut | None = None


class TrainingJobListOut(Shape):
    total: int | None = None
    count: int | None = None
    limit: int | None = None
    offset: int | None = None
    sort_by: str | None = None
    order: str | None = None
    group_by: str | None = None
    workspace_id: str | None = None
    ai_project: str | None = None
    items: list[TrainingJobOut] = Field(default_factory=list)


class LogPreviewOut(Shape):
    content: str | None = None
    current_size: int | None = None  # bytes returned, at most LOG_PREVIEW_MAX_BYTES
    full_size: int | None = None  # bytes in the whole log


class LogUrlOut(Shape):
    obs_url: str | None = None


class MetricSeriesOut(Shape):
    metric: str | None = None
    # One average per minute; METRIC_MISSING where nothing was collected.
    value: list[float] | None = None


class TaskMetricsOut(Shape):
    metrics: list[MetricSeriesOut] = Field(default_factory=list)


class TrainingJobEventOut(Shape):
    time: str | None = None
    level: str | None = None
    message: str | None = None
    source: str | None = None


class TrainingJobEventsOut(Shape):
    # Integers, as in the reference's example and the SDK; its table says strings.
    total: int | None = None
    limit: int | None = None
    offset: int | None = None
    order: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    events: list[TrainingJobEventOut] = Field(default_factory=list)
