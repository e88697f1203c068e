"""Wire shapes of algorithms: create, list, show, update and delete, under
/v2/{project_id}/algorithms.

The request shapes follow the SDK's ``Algorithm`` body, which POST and PUT share. The answer
shapes follow the SDK's ``AlgorithmResponse``; where the reference's tables and its examples
disagree, the SDK's types win, since the SDK is the client that must decode our answers.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from pydantic import Field

from openarts.domain import training
from openarts.schemas.common import MAX_OFFSET, Shape, WireModel

# -- query parameters of GET /v2/{project_id}/algorithms ---------------------------------
ALGORITHM_LIST_QUERY: Final = (
    "offset",
    "limit",
    "sort_by",
    "order",
    "group_by",
    "searches",
    "workspace_id",
)
ALGORITHM_LIST_MIN_LIMIT: Final = 1
ALGORITHM_LIST_MAX_LIMIT: Final = 50
# The reference only names create_time (the default); the other keys are the ones the
# list answer carries and a console would sort on. Anything else is ModelArts.2790.
AlgorithmSortKey = Literal["create_time", "update_time", "name"]
ALGORITHM_SORT_KEYS: Final[tuple[str, ...]] = get_args(AlgorithmSortKey)
ALGORITHM_DEFAULT_SORT: Final = "create_time"
SortOrder = Literal["asc", "desc"]
SORT_ORDERS: Final[tuple[str, ...]] = get_args(SortOrder)
ALGORITHM_DEFAULT_ORDER: Final = "desc"
# searches is "key:value" (the example sends name:TestModelArtsalgorithm, a fuzzy match).
ALGORITHM_SEARCH_KEYS: Final = ("name",)
DEFAULT_WORKSPACE: Final = "0"
DEFAULT_AI_PROJECT: Final = "default-ai-project"

# The reference bounds only the name and the description; the other caps are ours, wide
# enough for any real algorithm while keeping one request from filling the database.
NAME_PATTERN: Final = training.NAME_PATTERN.pattern
MAX_DESCRIPTION: Final = 256
_SHORT: Final = 256
_PATH: Final = 1024
_LONG: Final = 8192
_MANY: Final = 1000


class AlgorithmListQuery(WireModel):
    """The list's query string, checked before the service reads it."""

    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(
        default=None, ge=ALGORITHM_LIST_MIN_LIMIT, le=ALGORITHM_LIST_MAX_LIMIT
    )
    sort_by: AlgorithmSortKey | None = None
    order: SortOrder | None = None
    group_by: str | None = Field(default=None, max_length=_SHORT)
    searches: str | None = Field(default=None, max_length=_PATH)
    workspace_id: str | None = Field(default=None, max_length=64)


# -- requests (POST and PUT bodies) -------------------------------------------------------
ResourceRequirementKey = Literal["flavor_type", "device_distributed_mode", "host_distributed_mode"]
RESOURCE_REQUIREMENT_KEYS: Final[tuple[str, ...]] = get_args(ResourceRequirementKey)
RewardMode = Literal["max", "min"]
SearchParamType = Literal["continuous", "discrete"]


class AlgorithmMetadataIn(WireModel):
    # The SDK types id as an int though algorithms have UUIDs; the server assigns it
    # anyway, so whatever a client sends is accepted and dropped.
    id: int | str | None = None
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    workspace_id: str | None = Field(default=None, min_length=1, max_length=64)
    ai_project: str | None = Field(default=None, max_length=_SHORT)


class ParameterConstraintIn(WireModel):
    type: str | None = Field(default=None, max_length=_SHORT)
    editable: bool | None = None
    required: bool | None = None
    sensitive: bool | None = None
    valid_type: str | None = Field(default=None, max_length=_SHORT)
    valid_range: list[str] | None = Field(default=None, max_length=_MANY)


class I18nDescriptionIn(WireModel):
    language: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=_LONG)


class AlgorithmParameterIn(WireModel):
    name: str | None = Field(default=None, max_length=_SHORT)
    value: str | None = Field(default=None, max_length=_LONG)
    description: str | None = Field(default=None, max_length=_LONG)
    constraint: ParameterConstraintIn | None = None
    i18n_description: I18nDescriptionIn | None = None


class RemoteConstraintIn(WireModel):
    data_type: str | None = Field(default=None, max_length=_SHORT)
    attributes: list[dict[str, str]] | None = Field(default=None, max_length=_MANY)


class AlgorithmInputIn(WireModel):
    name: str | None = Field(default=None, max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_LONG)
    remote_constraints: list[RemoteConstraintIn] | None = Field(default=None, max_length=_MANY)


class AlgorithmOutputIn(WireModel):
    name: str = Field(min_length=1, max_length=_SHORT)
    description: str | None = Field(default=None, max_length=_LONG)


class AlgorithmEngineIn(WireModel):
    engine_id: str | None = Field(default=None, max_length=_SHORT)
    engine_name: str | None = Field(default=None, max_length=_SHORT)
    engine_version: str | None = Field(default=None, max_length=_SHORT)
    image_url: str | None = Field(default=None, max_length=_PATH)


class AlgorithmJobConfigIn(WireModel):
    """code_dir/boot_file pairing and boot_file lying under code_dir are left to the
    service, which answers them with the reference's own codes (ModelArts.2757/2758)."""

    code_dir: str | None = Field(default=None, max_length=_PATH)
    boot_file: str | None = Field(default=None, max_length=_PATH)
    command: str | None = Field(default=None, max_length=_LONG)
    parameters: list[AlgorithmParameterIn] | None = Field(default=None, max_length=_MANY)
    inputs: list[AlgorithmInputIn] | None = Field(default=None, max_length=_MANY)
    outputs: list[AlgorithmOutputIn] | None = Field(default=None, max_length=_MANY)
    engine: AlgorithmEngineIn | None = None
    parameters_customization: bool | None = None


class ResourceRequirementIn(WireModel):
    key: ResourceRequirementKey | None = None
    # The request calls the list "values"; the answer calls it "value" (both per the SDK).
    values: list[str] | None = Field(default=None, max_length=_MANY)
    operator: Literal["in"] | None = None


class RewardAttrIn(WireModel):
    name: str | None = Field(default=None, max_length=_SHORT)
    mode: RewardMode | None = None
    regex: str | None = Field(default=None, max_length=_PATH)


class SearchParamIn(WireModel):
    name: str | None = Field(default=None, max_length=_SHORT)
    param_type: SearchParamType | None = None
    lower_bound: str | None = Field(default=None, max_length=_SHORT)
    upper_bound: str | None = Field(default=None, max_length=_SHORT)
    discrete_points_num: str | None = Field(default=None, max_length=_SHORT)
    discrete_values: list[str] | None = Field(default=None, max_length=_MANY)


class AlgoConfigParamIn(WireModel):
    key: str | None = Field(default=None, max_length=_SHORT)
    value: str | None = Field(default=None, max_length=_LONG)
    type: str | None = Field(default=None, max_length=_SHORT)


class AlgoConfigIn(WireModel):
    name: str | None = Field(default=None, max_length=_SHORT)
    params: list[AlgoConfigParamIn] | None = Field(default=None, max_length=_MANY)


class AutoSearchIn(WireModel):
    skip_search_params: str | None = Field(default=None, max_length=_LONG)
    reward_attrs: list[RewardAttrIn] | None = Field(default=None, max_length=_MANY)
    search_params: list[SearchParamIn] | None = Field(default=None, max_length=_MANY)
    algo_configs: list[AlgoConfigIn] | None = Field(default=None, max_length=_MANY)


class AlgorithmAdvancedConfigIn(WireModel):
    auto_search: AutoSearchIn | None = None


class AlgorithmCreateIn(WireModel):
    """POST body. The reference marks metadata optional but its name mandatory; an
    algorithm cannot exist without a name, so metadata is required here."""

    metadata: AlgorithmMetadataIn
    job_config: AlgorithmJobConfigIn | None = None
    resource_requirements: list[ResourceRequirementIn] | None = Field(
        default=None, max_length=_MANY
    )
    advanced_config: AlgorithmAdvancedConfigIn | None = None


class AlgorithmUpdateIn(WireModel):
    """PUT body: the same shape as POST (the SDK sends one ``Algorithm`` type for both),
    each section optional. A section that is sent replaces the stored one."""

    metadata: AlgorithmMetadataIn | None = None
    job_config: AlgorithmJobConfigIn | None = None
    resource_requirements: list[ResourceRequirementIn] | None = Field(
        default=None, max_length=_MANY
    )
    advanced_config: AlgorithmAdvancedConfigIn | None = None


# -- answers ------------------------------------------------------------------------------
class AlgorithmMetadataOut(Shape):
    # The tables say Integer and String; the examples and the SDK say UUID string and bool.
    id: str
    name: str
    description: str | None = None
    workspace_id: str | None = None
    ai_project: str | None = None
    user_name: str | None = None
    domain_id: str | None = None
    source: str | None = None
    api_version: str | None = None
    is_valid: bool | None = None
    state: str | None = None
    tags: list[dict[str, str]] | None = None
    attr_list: list[str] | None = None
    version_num: int | None = None
    size: int | None = None
    # Epoch milliseconds.
    create_time: int | None = None
    update_time: int | None = None


class ParameterConstraintOut(Shape):
    type: str | None = None
    editable: bool | None = None
    required: bool | None = None
    sensitive: bool | None = None
    valid_type: str | None = None
    valid_range: list[str] | None = None


class I18nDescriptionOut(Shape):
    language: str | None = None
    description: str | None = None


class AlgorithmParameterOut(Shape):
    name: str | None = None
    value: str | None = None
    description: str | None = None
    constraint: ParameterConstraintOut | None = None
    i18n_description: I18nDescriptionOut | None = None


class RemoteConstraintOut(Shape):
    data_type: str | None = None
    attributes: list[dict[str, str]] | None = None


class AlgorithmInputOut(Shape):
    name: str | None = None
    description: str | None = None
    remote_constraints: list[RemoteConstraintOut] | None = None


class AlgorithmOutputOut(Shape):
    name: str | None = None
    description: str | None = None


class AlgorithmEngineOut(Shape):
    engine_id: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    image_url: str | None = None


class CodeTreeNode(Shape):
    """One level of the code directory. The tables say an array, but the examples and the
    SDK (``CodeTreeNode``) send a single root object whose children nest the same way."""

    name: str | None = None
    children: list[CodeTreeNode] | None = None


class AlgorithmJobConfigOut(Shape):
    code_dir: str | None = None
    boot_file: str | None = None
    command: str | None = None
    parameters: list[AlgorithmParameterOut] | None = None
    inputs: list[AlgorithmInputOut] | None = None
    outputs: list[AlgorithmOutputOut] | None = None
    engine: AlgorithmEngineOut | None = None
    code_tree: CodeTreeNode | None = None
    parameters_customization: bool | None = None


class ResourceRequirementOut(Shape):
    key: str | None = None
    value: list[str] | None = None
    operator: str | None = None


class RewardAttrOut(Shape):
    name: str | None = None
    mode: str | None = None
    regex: str | None = None


class SearchParamOut(Shape):
    name: str | None = None
    param_type: str | None = None
    lower_bound: str | None = None
    upper_bound: str | None = None
    discrete_points_num: str | None = None
    # A single string in answers (request: a list); the service joins the list it stored.
    discrete_values: str | None = None


class AlgoConfigParamOut(Shape):
    key: str | None = None
    value: str | None = None
    type: str | None = None


class AlgoConfigOut(Shape):
    name: str | None = None
    params: list[AlgoConfigParamOut] | None = None


class AutoSearchOut(Shape):
    skip_search_params: str | None = None
    reward_attrs: list[RewardAttrOut] | None = None
    search_params: list[SearchParamOut] | None = None
    algo_configs: list[AlgoConfigOut] | None = None


class AlgorithmAdvancedConfigOut(Shape):
    auto_search: AutoSearchOut | None = None


class AlgorithmOut(Shape):
    """Answer of POST (201), GET one (200) and PUT (201), and one item of the list."""

    metadata: AlgorithmMetadataOut
    job_config: AlgorithmJobConfigOut | None = None
    resource_requirements: list[ResourceRequirementOut] | None = None
    advanced_config: AlgorithmAdvancedConfigOut | None = None


class AlgorithmListOut(Shape):
    total: int
    count: int
    limit: int
    offset: int
    sort_by: str = ALGORITHM_DEFAULT_SORT
    order: str = ALGORITHM_DEFAULT_ORDER
    group_by: str = ""
    items: list[AlgorithmOut]


# Status codes the reference gives each call; DELETE answers 202 with a null body.
CREATE_STATUS: Final = 201
UPDATE_STATUS: Final = 201
DELETE_STATUS: Final = 202
