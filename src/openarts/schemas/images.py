"""Wire shapes of DevEnviron images under /v1/{project_id}/images: register, list, list
grouped by name, show and delete. The image answer is also what saving a running notebook
as an image (POST /v1/{project_id}/notebooks/{id}/create-image) returns, and the ``image``
object nested in every notebook answer.

Requests follow the reference's tables. Answers carry every field of the SDK's ``Image``
family; where the reference and the SDK disagree the SDK's types win, since the SDK is the
client that must decode our answers.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BeforeValidator, Field

from openarts.schemas.common import MAX_OFFSET, Shape, WireModel


def upper_case(value: object) -> object:
    """Enumerations arrive in either case (the reference's own examples send "evs",
    "managed", "timing"); they are matched and stored upper case."""
    return value.upper() if isinstance(value, str) else value


# -- enumerations -------------------------------------------------------------------------
ImageArch = Literal["X86_64", "AARCH64"]
IMAGE_ARCHES: Final[tuple[str, ...]] = get_args(ImageArch)
DEFAULT_IMAGE_ARCH: Final = "X86_64"
ImageOrigin = Literal["CUSTOMIZE", "IMAGE_SAVE"]
DEFAULT_IMAGE_ORIGIN: Final = "CUSTOMIZE"
ImageServiceType = Literal["COMMON", "INFERENCE", "TRAIN", "DEV", "UNKNOWN"]
IMAGE_SERVICE_TYPES: Final[tuple[str, ...]] = get_args(ImageServiceType)
# The SDK's notes give UNKNOWN as the default of a registered image's service type.
DEFAULT_IMAGE_SERVICE_TYPE: Final = "UNKNOWN"
ImageType = Literal["BUILD_IN", "DEDICATED"]
IMAGE_TYPES: Final[tuple[str, ...]] = get_args(ImageType)
ImageVisibility = Literal["PRIVATE", "PUBLIC"]
DEFAULT_IMAGE_VISIBILITY: Final = "PRIVATE"
# ASCEND is named by the SDK only; the reference lists CPU and GPU.
ResourceCategory = Literal["CPU", "GPU", "ASCEND"]
RESOURCE_CATEGORIES: Final[tuple[str, ...]] = get_args(ResourceCategory)
DEFAULT_RESOURCE_CATEGORIES: Final = ("CPU", "GPU")
DevService = Literal["NOTEBOOK", "SSH"]
DEV_SERVICES: Final[tuple[str, ...]] = get_args(DevService)
DEFAULT_DEV_SERVICES: Final = ("NOTEBOOK", "SSH")
SortDir = Literal["ASC", "DESC"]
SORT_DIRS: Final[tuple[str, ...]] = get_args(SortDir)
DEFAULT_SORT_DIR: Final = "DESC"

ImageStatus = Literal["INIT", "CREATING", "CREATE_FAILED", "ERROR", "DELETED", "ACTIVE"]
IMAGE_STATUSES: Final[tuple[str, ...]] = get_args(ImageStatus)

UpperArch = Annotated[ImageArch, BeforeValidator(upper_case)]
UpperOrigin = Annotated[ImageOrigin, BeforeValidator(upper_case)]
UpperServiceType = Annotated[ImageServiceType, BeforeValidator(upper_case)]
UpperImageType = Annotated[ImageType, BeforeValidator(upper_case)]
UpperVisibility = Annotated[ImageVisibility, BeforeValidator(upper_case)]
UpperResourceCategory = Annotated[ResourceCategory, BeforeValidator(upper_case)]
UpperDevService = Annotated[DevService, BeforeValidator(upper_case)]
UpperSortDir = Annotated[SortDir, BeforeValidator(upper_case)]

# -- bounds -------------------------------------------------------------------------------
DESCRIPTION_MAX: Final = 512
# Image names: lowercase letters, digits, "-", "_" and ".", at most 512 characters.
IMAGE_NAME_MAX: Final = 512
IMAGE_NAME_PATTERN: Final = r"^[a-z0-9._-]{1,512}$"
# A list filter may be a fragment of a name (fuzzy match), so it may also be empty.
IMAGE_NAME_FILTER_PATTERN: Final = r"^[a-z0-9._-]{0,512}$"
# A registry's tag grammar (never "." or ".." , which a URL would fold away).
IMAGE_TAG_PATTERN: Final = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$"
# SWR organisations, per the SDK's notes: at most 64 characters, starting with a lowercase
# letter (the reference only says where to create them).
NAMESPACE_PATTERN: Final = r"^[a-z][A-Za-z0-9._-]{0,63}$"
# [registry[:port]]/[namespace]/[name]:[tag], 16 to 2048 characters per the SDK's notes; the
# server reads the namespace, the name and the tag of the answer out of it.
SWR_PATH_MIN: Final = 16
SWR_PATH_MAX: Final = 2048
SWR_PATH_PATTERN: Final = r"^[^\s/]+(/[^\s/:]+)+:[A-Za-z0-9._-]{1,128}$"
SORT_KEY_PATTERN: Final = r"^[A-Za-z0-9_,-]{0,128}$"
WORKSPACE_MAX: Final = 64
DEFAULT_WORKSPACE: Final = "0"
FLAVOR_TYPE_MAX: Final = 64
# The reference sets no page ceiling; this one is ours, so one request stays bounded.
LIST_MAX_LIMIT: Final = 1000
IMAGE_LIST_DEFAULT_LIMIT: Final = 200
IMAGE_LIST_QUERY: Final = (
    "limit",
    "name",
    "name_fuzzy_match",
    "namespace",
    "offset",
    "service_type",
    "sort_dir",
    "sort_key",
    "type",
    "workspace_id",
    "show_name",
    "show_tag",
)
IMAGE_GROUP_QUERY: Final = (
    "name",
    "name_fuzzy_match",
    "namespace",
    "type",
    "workspace_id",
    "limit",
    "offset",
    "swr_instance_id",
)

_SHORT: Final = 256
_MANY: Final = 100


# -- requests -----------------------------------------------------------------------------
class ImageRegister(WireModel):
    """POST /v1/{project_id}/images body: registers an SWR image as a notebook image."""

    arch: UpperArch = DEFAULT_IMAGE_ARCH
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    origin: UpperOrigin = DEFAULT_IMAGE_ORIGIN
    # Unset means both CPU and GPU; the request names the list in the singular.
    resource_category: list[UpperResourceCategory] | None = Field(default=None, max_length=_MANY)
    service_type: UpperServiceType | None = None
    # Unset means NOTEBOOK and SSH.
    services: list[UpperDevService] | None = Field(default=None, max_length=_MANY)
    swr_path: str = Field(
        min_length=SWR_PATH_MIN, max_length=SWR_PATH_MAX, pattern=SWR_PATH_PATTERN
    )
    visibility: UpperVisibility = DEFAULT_IMAGE_VISIBILITY
    workspace_id: str = Field(default=DEFAULT_WORKSPACE, min_length=1, max_length=WORKSPACE_MAX)
    flavor_type: str | None = Field(default=None, max_length=FLAVOR_TYPE_MAX)


class ImageListQuery(WireModel):
    """GET /v1/{project_id}/images query string."""

    limit: int = Field(default=IMAGE_LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    name: str | None = Field(default=None, pattern=IMAGE_NAME_FILTER_PATTERN)
    name_fuzzy_match: bool = True
    namespace: str | None = Field(default=None, max_length=64)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    service_type: UpperServiceType | None = None
    sort_dir: UpperSortDir = DEFAULT_SORT_DIR
    # Comma-separated field names, e.g. "updateTime".
    sort_key: str | None = Field(default=None, pattern=SORT_KEY_PATTERN)
    # The SDK's notes name BUILD_IN as the default; the reference names none and its list
    # example mixes nothing else, so unset means "every type the caller may see".
    type: UpperImageType | None = None
    workspace_id: str | None = Field(default=None, max_length=WORKSPACE_MAX)
    # Sent by the SDK, not listed in the reference.
    show_name: str | None = Field(default=None, max_length=IMAGE_NAME_MAX)
    show_tag: str | None = Field(default=None, max_length=_SHORT)


class ImageGroupQuery(WireModel):
    """GET /v1/{project_id}/images/group query string. The reference lists no paging;
    the SDK sends limit and offset (defaults 200 and 0) and swr_instance_id."""

    name: str | None = Field(default=None, pattern=IMAGE_NAME_FILTER_PATTERN)
    name_fuzzy_match: bool = True
    namespace: str | None = Field(default=None, max_length=64)
    type: UpperImageType | None = None
    workspace_id: str | None = Field(default=None, max_length=WORKSPACE_MAX)
    limit: int = Field(default=IMAGE_LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    swr_instance_id: str | None = Field(default=None, max_length=_SHORT)


class ImageDeleteQuery(WireModel):
    """DELETE /v1/{project_id}/images/{id} query string: force also deletes the SWR
    content (private images only)."""

    force: bool = False


class ImageDeleteBody(WireModel):
    """The SDK sends the same switch as a body, {"is_force": true}, instead of the query."""

    is_force: bool | None = None


# -- answers ------------------------------------------------------------------------------
class TagOut(Shape):
    key: str | None = None
    value: str | None = None


class ImageOut(Shape):
    """One image: the answer of register, show, delete and save-as-image, an item of the
    list, and the ``image`` object of a notebook answer. Times are epoch milliseconds, size
    is in KB. arch is written as the cloud writes it in answers ("x86_64")."""

    arch: str | None = None
    create_at: int | None = None
    description: str | None = None
    dev_services: list[str] | None = None
    id: str | None = None
    name: str | None = None
    namespace: str | None = None
    origin: str | None = None
    resource_categories: list[str] | None = None
    service_type: str | None = None
    size: int | None = None
    status: str | None = None
    status_message: str | None = None
    # Not in the SDK's list item (ImageResponse), which skips it; every other image answer
    # carries it.
    support_res_categories: list[str] | None = None
    swr_path: str | None = None
    tag: str | None = None
    type: str | None = None
    update_at: int | None = None
    visibility: str | None = None
    workspace_id: str | None = None
    flavor_type: str | None = None
    # Known to the SDK only.
    swr_instance_id: str | None = None
    show_name: str | None = None
    show_tag: str | None = None
    tags: list[TagOut] | None = None


class ImagePage(Shape):
    """GET /v1/{project_id}/images answer. current is the page number, size the number
    of items on this page, pages the page count and total the matching images."""

    current: int
    data: list[ImageOut]
    pages: int
    size: int
    total: int


class ImageGroupOut(Shape):
    """Images of one name (all tags together) in one SWR organisation."""

    name: str | None = None
    create_at: int | None = None
    namespace: str | None = None
    update_at: int | None = None
    version_count: int | None = None
    # Known to the SDK only.
    description: str | None = None
    read_me: str | None = None
    icon_name: str | None = None
    id: str | None = None
    swr_instance_name: str | None = None
    swr_instance_id: str | None = None


class ImageGroupPage(Shape):
    current: int
    data: list[ImageGroupOut]
    pages: int
    size: int
    total: int
    # Known to the SDK only: whether the groups come from an enterprise SWR instance.
    is_swr_enterprise: bool | None = None


# Status codes the reference gives: 200 for every call (201 and 204 are also listed).
REGISTER_STATUS: Final = 200
DELETE_STATUS: Final = 200
