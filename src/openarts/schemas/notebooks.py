"""Wire shapes of DevEnviron notebook instances under /v1/{project_id}/notebooks: create,
list (own and all), show, update, delete, start, stop, save as image, valid and switchable
flavors, the auto-stop lease (show and prolong) and OBS storage mounted at run time.

Requests follow the reference's tables. Answers follow the SDK's ``NotebookResp`` family;
where the two disagree the SDK's types win, since the SDK is the client that must decode our
answers. Keys only the reference names (``ssh_keys``, ``step_description``, ...) are kept as
well: the SDK skips keys it does not know, and other clients read them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self, get_args

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from openarts.domain.notebooks import NotebookStatus
from openarts.schemas.common import MAX_OFFSET, Shape, WireModel
from openarts.schemas.images import (
    DEFAULT_WORKSPACE,
    DESCRIPTION_MAX,
    IMAGE_TAG_PATTERN,
    LIST_MAX_LIMIT,
    NAMESPACE_PATTERN,
    SORT_KEY_PATTERN,
    WORKSPACE_MAX,
    ImageOut,
    TagOut,
    UpperDevService,
    UpperSortDir,
    upper_case,
)

# -- enumerations -------------------------------------------------------------------------
NOTEBOOK_STATUSES: Final[tuple[str, ...]] = tuple(status.value for status in NotebookStatus)

Feature = Literal["DEFAULT", "NOTEBOOK"]
FEATURES: Final[tuple[str, ...]] = get_args(Feature)
DEFAULT_FEATURE: Final = "NOTEBOOK"

# The table lists SFS and EVS, but the same page makes DEDICATED ownership (with uri and id)
# depend on category EFS, and answers report EFS; EFS (SFS Turbo) is taken as well.
VolumeCategory = Literal["SFS", "EVS", "EFS"]
VOLUME_CATEGORIES: Final[tuple[str, ...]] = get_args(VolumeCategory)
SHARED_FILE_CATEGORIES: Final = ("SFS", "EFS")
VolumeOwnership = Literal["MANAGED", "DEDICATED"]
VOLUME_OWNERSHIPS: Final[tuple[str, ...]] = get_args(VolumeOwnership)
# The one status a workspace volume reports: its EVS disk is being enlarged.
VOLUME_RESIZING: Final = "RESIZING"
# Where the workspace volume is mounted in every instance.
WORKSPACE_MOUNT_PATH: Final = "/home/ma-user/work/"

HookScriptType = Literal["COMMAND", "SCRIPT"]
DEFAULT_HOOK_TYPE: Final = "SCRIPT"
# Known to the SDK only: whether the hook blocks the start-up or runs beside it.
HookMode = Literal["BLOCK", "ASYNC"]

# The tables write the stop types in lower case; answers and the SDK use upper case.
LeaseType = Literal["TIMING", "IDLE"]
LEASE_TYPES: Final[tuple[str, ...]] = get_args(LeaseType)
DEFAULT_LEASE_TYPE: Final = "TIMING"
# Lease durations in milliseconds. The reference gives no range; the SDK's notes give
# 1 h to 72 h, default 1 h. A duration outside the range is ModelArts.6349, which the
# service answers (the schema only refuses non-positive values).
LEASE_DEFAULT_MS: Final = 3_600_000
LEASE_MIN_MS: Final = 3_600_000
LEASE_MAX_MS: Final = 259_200_000

JobProgressStatus = Literal["WAITING", "PROCESSING", "FAILED", "COMPLETED"]
JOB_PROGRESS_STATUSES: Final[tuple[str, ...]] = get_args(JobProgressStatus)
# 1 storage, 2 compute, 3 network, 4 instance initialisation.
JOB_PROGRESS_STEPS: Final = (1, 2, 3, 4)

BillingItem = Literal["STORAGE", "COMPUTE", "ALL"]
BILLING_ITEMS: Final[tuple[str, ...]] = get_args(BillingItem)

# ASCEND is named by the SDK only.
FlavorCategory = Literal["CPU", "GPU", "ASCEND"]
FLAVOR_CATEGORIES: Final[tuple[str, ...]] = get_args(FlavorCategory)
ClusterType = Literal["MANAGED", "DEDICATED"]

# The reference says "OBS"; its own answer reports "OBSFS", and the SDK also sends EFS.
MountCategory = Literal["OBS", "OBSFS", "EFS"]
MOUNT_CATEGORIES: Final[tuple[str, ...]] = get_args(MountCategory)
DEFAULT_MOUNT_CATEGORY: Final = "OBS"
MountStatus = Literal[
    "MOUNTING", "MOUNT_FAILED", "MOUNTED", "UNMOUNTING", "UNMOUNT_FAILED", "UNMOUNTED"
]
MOUNT_STATUSES: Final[tuple[str, ...]] = get_args(MountStatus)
# Known to the SDK only: STATIC mounts last the instance's life, DYNAMIC ones can be
# attached and detached while it runs (every mount made through /storage).
MountType = Literal["STATIC", "DYNAMIC"]

UpperFeature = Annotated[Feature, BeforeValidator(upper_case)]
UpperVolumeCategory = Annotated[VolumeCategory, BeforeValidator(upper_case)]
UpperOwnership = Annotated[VolumeOwnership, BeforeValidator(upper_case)]
UpperHookType = Annotated[HookScriptType, BeforeValidator(upper_case)]
UpperHookMode = Annotated[HookMode, BeforeValidator(upper_case)]
UpperLeaseType = Annotated[LeaseType, BeforeValidator(upper_case)]
UpperStatus = Annotated[NotebookStatus, BeforeValidator(upper_case)]
UpperBilling = Annotated[BillingItem, BeforeValidator(upper_case)]
UpperFlavorCategory = Annotated[FlavorCategory, BeforeValidator(upper_case)]
UpperClusterType = Annotated[ClusterType, BeforeValidator(upper_case)]
UpperMountCategory = Annotated[MountCategory, BeforeValidator(upper_case)]

# -- bounds -------------------------------------------------------------------------------
# Letters, digits, "-" and "_", at most 128; names need not be unique. The SDK's notes also
# allow Chinese characters, which the console accepts, so they are taken too.
NAME_MAX: Final = 128
NAME_PATTERN: Final = "^[A-Za-z0-9_\u4e00-\u9fa5-]{1,128}$"
NAME_FILTER_PATTERN: Final = "^[A-Za-z0-9_\u4e00-\u9fa5-]{0,128}$"
# Characters a description may not hold (ModelArts.6334 on the cloud). The update page
# leaves out the single quote.
CREATE_DESCRIPTION_FORBIDDEN: Final = "&<>\"'/"
UPDATE_DESCRIPTION_FORBIDDEN: Final = '&<>"/'
CREATE_DESCRIPTION_PATTERN: Final = "^[^&<>\"'/]*$"
UPDATE_DESCRIPTION_PATTERN: Final = '^[^&<>"/]*$'
VOLUME_MIN_GB: Final = 1
VOLUME_MAX_GB: Final = 4096
EVS_DEFAULT_GB: Final = 5
EFS_DEFAULT_GB: Final = 50
MAX_ALLOWED_IPS: Final = 5
# Mounted storage lives under /data/ in the instance; path and uri are capped at 256 by
# the SDK's notes.
MOUNT_ROOT: Final = "/data/"
MOUNT_PATH_MAX: Final = 256
MOUNT_URI_MAX: Final = 256
OWNER_PATTERN: Final = r"^[0-9a-z]{32}$"
IPV4_PATTERN: Final = r"^(\d{1,3}\.){3}\d{1,3}$"
# Caps the reference does not give; ours, wide enough for real use.
_ID: Final = 64
_SHORT: Final = 256
_PATH: Final = 1024
_SCRIPT: Final = 65536
_MANY: Final = 100

NOTEBOOK_LIST_DEFAULT_LIMIT: Final = 10
NOTEBOOK_LIST_QUERY: Final = (
    "feature",
    "limit",
    "name",
    "pool_id",
    "offset",
    "owner",
    "sort_dir",
    "sort_key",
    "status",
    "workspaceId",
    "workspace_id",
    "flavor",
    "image_id",
    "id",
    "billing",
    "tags",
    "swr_path",
    "pool_name",
    "description",
    "ip",
    "username",
)
FLAVOR_LIST_QUERY: Final = (
    "category",
    "limit",
    "offset",
    "type",
    "sort_dir",
    "sort_key",
    "flavor_type",
    "feature",
)
SWITCHABLE_FLAVOR_QUERY: Final = ("limit", "offset", "sort_key", "sort_dir")

IpAddress = Annotated[str, StringConstraints(min_length=1, max_length=64)]
KeyPairName = Annotated[str, StringConstraints(min_length=1, max_length=_SHORT)]


# -- shared request pieces ----------------------------------------------------------------
class EndpointsReq(WireModel):
    """Remote access to the instance (local IDE or SSH client)."""

    # Not in the SDK's EndpointsReq, which never sends it; the reference lists it.
    allowed_access_ips: list[IpAddress] | None = Field(default=None, max_length=MAX_ALLOWED_IPS)
    service: UpperDevService | None = None
    key_pair_names: list[KeyPairName] | None = Field(default=None, max_length=_MANY)


class VolumeReq(WireModel):
    """The instance's workspace volume, mounted at /home/ma-user/work/."""

    # GB; unset means 5 for EVS and 50 for EFS.
    capacity: int | None = Field(default=None, ge=VOLUME_MIN_GB, le=VOLUME_MAX_GB)
    category: UpperVolumeCategory
    ownership: UpperOwnership
    # The shared path and the file system ID of a DEDICATED (user-owned) EFS.
    uri: str | None = Field(default=None, min_length=1, max_length=_PATH)
    id: str | None = Field(default=None, min_length=1, max_length=_ID)

    @model_validator(mode="after")
    def _dedicated_is_a_named_file_system(self) -> Self:
        if self.ownership == "DEDICATED":
            if self.category not in SHARED_FILE_CATEGORIES:
                raise ValueError("ownership DEDICATED is supported only for category EFS")
            if self.uri is None or self.id is None:
                raise ValueError("a DEDICATED EFS volume needs its uri and id")
        return self


class HookConfig(WireModel):
    """One start-up script (the reference's ``Config``)."""

    # Base64 script text (COMMAND) or the script's absolute path (SCRIPT).
    script: str | None = Field(default=None, max_length=_SCRIPT)
    type: UpperHookType = DEFAULT_HOOK_TYPE
    mode: UpperHookMode | None = None


class ContainerHooks(WireModel):
    post_start: HookConfig | None = None
    pre_start: HookConfig | None = None


class CustomHooks(WireModel):
    container_hooks: ContainerHooks | None = None


class LeaseReq(WireModel):
    """Auto-stop setting: stop after ``duration`` ms from now."""

    duration: int | None = Field(default=None, ge=1)
    type: UpperLeaseType = DEFAULT_LEASE_TYPE


# -- requests -----------------------------------------------------------------------------
class NotebookCreate(WireModel):
    """POST /v1/{project_id}/notebooks body."""

    description: str | None = Field(
        default=None, max_length=DESCRIPTION_MAX, pattern=CREATE_DESCRIPTION_PATTERN
    )
    # Milliseconds. When given it wins over lease, and the stop is a timed one.
    duration: int | None = Field(default=None, ge=1)
    endpoints: list[EndpointsReq] | None = Field(default=None, max_length=_MANY)
    feature: UpperFeature = DEFAULT_FEATURE
    flavor: str = Field(min_length=1, max_length=_SHORT)
    image_id: str = Field(min_length=1, max_length=_ID)
    name: str = Field(pattern=NAME_PATTERN)
    pool_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    volume: VolumeReq
    workspace_id: str = Field(default=DEFAULT_WORKSPACE, min_length=1, max_length=WORKSPACE_MAX)
    hooks: CustomHooks | None = None
    lease: LeaseReq | None = None

    def effective_lease(self) -> LeaseReq:
        """The auto-stop to apply; its duration is None when the caller gave none."""
        if self.duration is not None:
            return LeaseReq(duration=self.duration, type="TIMING")
        return self.lease if self.lease is not None else LeaseReq()


class NotebookUpdate(WireModel):
    """PUT /v1/{project_id}/notebooks/{id} body; only a stopped instance may change
    (ModelArts.6347 otherwise)."""

    description: str | None = Field(
        default=None, max_length=DESCRIPTION_MAX, pattern=UPDATE_DESCRIPTION_PATTERN
    )
    endpoints: list[EndpointsReq] | None = Field(default=None, max_length=_MANY)
    flavor: str | None = Field(default=None, min_length=1, max_length=_SHORT)
    image_id: str | None = Field(default=None, min_length=1, max_length=_ID)
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    # GB; an EVS volume can only grow.
    storage_new_size: int | None = Field(default=None, ge=VOLUME_MIN_GB, le=VOLUME_MAX_GB)
    hooks: CustomHooks | None = None


class LeaseUpdate(LeaseReq):
    """PATCH /v1/{project_id}/notebooks/{id}/lease body. A ``duration`` query parameter
    (:class:`LeaseQuery`) wins over it, and then the stop is a timed one."""


class LeaseQuery(WireModel):
    """PATCH .../lease query string."""

    duration: int | None = Field(default=None, ge=1)


class NotebookStartQuery(WireModel):
    """POST /v1/{project_id}/notebooks/{id}/start query string (the call has no body)."""

    duration: int | None = Field(default=None, ge=1)
    type: UpperLeaseType | None = None


class NotebookImageSave(WireModel):
    """POST /v1/{project_id}/notebooks/{id}/create-image body: saves a running instance
    as an image in SWR. Every field is optional per the reference."""

    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    name: str | None = Field(default=None, pattern="^[a-z0-9._-]{1,512}$")
    namespace: str | None = Field(default=None, pattern=NAMESPACE_PATTERN)
    tag: str | None = Field(default=None, pattern=IMAGE_TAG_PATTERN)
    workspace_id: str | None = Field(default=None, min_length=1, max_length=WORKSPACE_MAX)


class StorageMount(WireModel):
    """POST /v1/{project_id}/notebooks/{instance_id}/storage body: mounts OBS storage
    into a running instance. The reference makes every field optional."""

    category: UpperMountCategory = DEFAULT_MOUNT_CATEGORY
    mount_path: str | None = Field(default=None, max_length=MOUNT_PATH_MAX)
    # e.g. obs://bucket/dir/
    uri: str | None = Field(default=None, min_length=1, max_length=MOUNT_URI_MAX)
    # Known to the SDK only: the SFS Turbo file system of an EFS mount.
    efs_id: str | None = Field(default=None, min_length=1, max_length=_ID)

    @field_validator("mount_path")
    @classmethod
    def _under_data(cls, value: str | None) -> str | None:
        if value is None:
            return value
        inside = value[len(MOUNT_ROOT) :].strip("/")
        if not value.startswith(MOUNT_ROOT) or not inside:
            raise ValueError(f"mount_path must be a subdirectory of {MOUNT_ROOT}")
        if ".." in inside.split("/") or "\x00" in inside:
            raise ValueError("mount_path must not leave its directory")
        return value


# -- query strings ------------------------------------------------------------------------
class NotebookListQuery(WireModel):
    """GET /v1/{project_id}/notebooks and GET /v1/{project_id}/notebooks/all query string.

    feature is documented with NOTEBOOK as its default, yet the reference's own list
    example answers both kinds to a bare GET, so unset means no filter.
    """

    feature: UpperFeature | None = None
    limit: int = Field(default=NOTEBOOK_LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    # A fragment of the name (fuzzy match).
    name: str | None = Field(default=None, pattern=NAME_FILTER_PATTERN)
    pool_id: str | None = Field(default=None, max_length=_ID)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    # Another user's ID; only honoured for an account with admin rights.
    owner: str | None = Field(default=None, pattern=OWNER_PATTERN)
    sort_dir: UpperSortDir = "DESC"
    # Comma-separated field names; a field that cannot be sorted on is ModelArts.6303.
    sort_key: str | None = Field(default=None, pattern=SORT_KEY_PATTERN)
    status: UpperStatus | None = None
    # The reference spells it workspaceId; the SDK sends workspace_id.
    workspace_id: str | None = Field(
        default=None,
        max_length=WORKSPACE_MAX,
        validation_alias=AliasChoices("workspace_id", "workspaceId"),
    )
    # Filters the SDK sends that the reference does not list (fuzzy where text).
    flavor: str | None = Field(default=None, max_length=_SHORT)
    image_id: str | None = Field(default=None, max_length=_ID)
    id: str | None = Field(default=None, max_length=_ID)
    billing: UpperBilling | None = None
    # "key1|value1,key2|value2"
    tags: str | None = Field(default=None, max_length=_PATH)
    swr_path: str | None = Field(default=None, max_length=2048)
    pool_name: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    ip: str | None = Field(default=None, pattern=IPV4_PATTERN)
    username: str | None = Field(default=None, max_length=_SHORT)


class NotebookFlavorQuery(WireModel):
    """GET /v1/{project_id}/notebooks/flavors query string. Without limit every flavor
    is returned."""

    category: UpperFlavorCategory | None = None
    limit: int | None = Field(default=None, ge=1, le=LIST_MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    type: UpperClusterType | None = None
    sort_dir: UpperSortDir = "DESC"
    sort_key: str | None = Field(default=None, pattern=SORT_KEY_PATTERN)
    # e.g. ASCEND_SNT9; free text in the reference.
    flavor_type: str | None = Field(default=None, max_length=_ID)
    # Sent by the SDK (its notes: default NOTEBOOK), not listed in the reference.
    feature: UpperFeature | None = None


class SwitchableFlavorQuery(WireModel):
    """GET /v1/{project_id}/notebooks/{id}/flavors query string (sort_* sent by the SDK)."""

    limit: int | None = Field(default=None, ge=1, le=LIST_MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    sort_key: str | None = Field(default=None, pattern=SORT_KEY_PATTERN)
    sort_dir: UpperSortDir = "DESC"


# -- answers ------------------------------------------------------------------------------
class JobProgressOut(Shape):
    """One step of an instance's initialisation."""

    # The reference's keys; the SDK reads neither notebook_id nor step_description.
    notebook_id: str | None = None
    status: str | None = None
    step: int | None = None
    step_description: str | None = None
    # What the SDK reads the step description from; fill both.
    description: str | None = None


class EndpointOut(Shape):
    # The reference's keys, unknown to the SDK.
    allowed_access_ips: list[str] | None = None
    ssh_keys: list[str] | None = None
    dev_service: str | None = None
    service: str | None = None
    # The instance's private address.
    uri: str | None = None
    # The SDK's name for the key pairs (the reference calls them ssh_keys); fill both.
    key_pair_names: list[str] | None = None


class LeaseOut(Shape):
    """Auto-stop state; also the whole answer of GET and PATCH .../lease. The instance
    stops at create_at + duration (epoch milliseconds)."""

    create_at: int | None = None
    duration: int | None = None
    enable: bool | None = None
    type: str | None = None
    update_at: int | None = None


class PoolOut(Shape):
    id: str | None = None
    name: str | None = None


class VolumeOut(Shape):
    capacity: int | None = None
    category: str | None = None
    mount_path: str | None = None
    ownership: str | None = None
    status: str | None = None
    # Known to the SDK only.
    id: str | None = None
    read_only: bool | None = None
    dew_secret_name: str | None = None
    evs_sku_code: str | None = None
    uri: str | None = None
    mount_type: str | None = None


class DomainOut(Shape):
    id: str | None = None
    name: str | None = None


class UserOut(Shape):
    domain: DomainOut | None = None
    id: str | None = None
    name: str | None = None


class CustomSpecOut(Shape):
    """Known to the SDK only: the resources of a custom flavor on a dedicated pool."""

    gpu: float | None = None
    gpu_type: str | None = None
    cpu: float | None = None
    memory: float | None = None
    arch: str | None = None
    category: str | None = None
    resource_flavor: str | None = None


class RunUserOut(Shape):
    uid: int | None = None
    gid: int | None = None
    user_name: str | None = None
    group_name: str | None = None


class DataVolumeOut(Shape):
    """Known to the SDK only: an extra volume of the instance."""

    category: str | None = None
    mount_path: str | None = None
    url: str | None = None
    status: str | None = None
    mount_type: str | None = None


class UserVpcOut(Shape):
    vpc_id: str | None = None
    subnet_id: str | None = None
    security_group_ids: list[str] | None = None
    # One string in answers, though the request sends a list (per the SDK).
    connect_cidrs: str | None = None
    port_id: list[str] | None = None
    port_ip: str | None = None
    nat_id: str | None = None
    eip_id: str | None = None


class NotebookOut(Shape):
    """One instance: the answer of create, show, update, delete, start and stop, and an
    item of both lists. Every key may be missing (the update example carries only four)."""

    action_progress: list[JobProgressOut] | None = None
    description: str | None = None
    endpoints: list[EndpointOut] | None = None
    fail_reason: str | None = None
    flavor: str | None = None
    id: str | None = None
    image: ImageOut | None = None
    lease: LeaseOut | None = None
    name: str | None = None
    pool: PoolOut | None = None
    status: str | None = None
    token: str | None = None
    url: str | None = None
    volume: VolumeOut | None = None
    workspace_id: str | None = None
    feature: str | None = None
    billing_items: list[str] | None = None
    user: UserOut | None = None
    # In the delete example, not in the tables nor the SDK (epoch milliseconds).
    create_at: int | None = None
    update_at: int | None = None
    # Known to the SDK only.
    custom_spec: CustomSpecOut | None = None
    # The SDK's node-affinity rules, passed through as stored.
    affinity: dict[str, object] | None = None
    run_user: RunUserOut | None = None
    data_volumes: list[DataVolumeOut] | None = None
    ip: str | None = None
    user_vpc: UserVpcOut | None = None
    user_id: str | None = None
    is_need_credentials: bool | None = None
    jupyter_version: str | None = None
    tags: list[TagOut] | None = None


class NotebookPage(Shape):
    """Answer of both lists: current is the page number (the examples count from 0 for
    instances), size the page's item count, pages the page count, total the matches."""

    current: int
    data: list[NotebookOut]
    pages: int
    size: int
    total: int


class BillingOut(Shape):
    code: str | None = None
    unit_num: int | None = None


class GpuInfoOut(Shape):
    gpu: int | None = None
    gpu_memory: str | None = None
    type: str | None = None


class AscendInfoOut(Shape):
    """Known to the SDK only."""

    npu: int | None = None
    npu_memory: str | None = None
    type: str | None = None
    chip: int | None = None


class NotebookFlavorOut(Shape):
    # Lower case in the examples ("x86_64"), upper case in the tables.
    arch: str | None = None
    billing: BillingOut | None = None
    category: str | None = None
    description: str | None = None
    feature: str | None = None
    free: bool | None = None
    gpu: GpuInfoOut | None = None
    id: str | None = None
    # KB in the examples (8388608 for 8 GB).
    memory: int | None = None
    name: str | None = None
    # true when the flavor's resources are exhausted.
    sold_out: bool | None = None
    storages: list[str] | None = None
    vcpus: int | None = None
    # Known to the SDK only; evs_max_size is a string there.
    ascend: AscendInfoOut | None = None
    evs_max_size: str | None = None
    evs_sku_code: str | None = None
    grow_support_type: str | None = None


class NotebookFlavorPage(Shape):
    """Answer of both flavor lists. The switchable list's example repeats the items under
    flavors; the valid list's example leaves flavors out."""

    current: int
    data: list[NotebookFlavorOut]
    pages: int
    size: int
    total: int
    flavors: list[NotebookFlavorOut] | None = None


class StorageOut(Shape):
    """One mounted storage: the answer of mount, show and unmount, and a list item. id is
    the mount's own ID (the storage_id of the path)."""

    category: str | None = None
    id: str | None = None
    mount_path: str | None = None
    status: str | None = None
    uri: str | None = None
    # Known to the SDK only; failure_reason comes with MOUNT_FAILED.
    failure_reason: str | None = None
    efs_id: str | None = None
    mount_type: str | None = None


class StoragePage(Shape):
    current: int
    data: list[StorageOut]
    pages: int
    size: int
    total: int


# Status codes of the reference's examples: every call answers 200 with a body (create,
# update, start, stop and mount also list 201; delete, prolong and unmount list 204).
CREATE_STATUS: Final = 200
DELETE_STATUS: Final = 200
