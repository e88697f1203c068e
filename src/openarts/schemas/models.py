"""Wire shapes of model management under /v1/{project_id}/models: create (import a model
from OBS, from an SWR image or from a template), list, show and delete, and the catalog of
AI engines and runtimes at /v1/{project_id}/models/ai-engine-runtimes.

Requests follow the reference's tables (model_management/*.md). The official SDK has no
model-management client, so answers follow the reference alone; where its tables and its
examples disagree, answers take the examples' types (what clients were written against)
and requests accept both spellings. A package's ``config.json`` (and the create request's
``initial_config``, which is the same file as a string) is read by
:mod:`openarts.domain.model_config`; these shapes check the request itself and nothing
that needs the database or OBS.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal, Self, get_args

from pydantic import BeforeValidator, Field, field_validator, model_validator

from openarts.domain.model_config import (
    API_PROTOCOLS,
    IMAGE_MODEL_TYPE,
    INSTALLERS,
    MODEL_ALGORITHM_PATTERN,
    RESTRAINTS,
    RUNTIME_MAX,
    URL_PATH_MAX,
    URL_PATH_PATTERN,
    ApiProtocol,
    ConfigModelType,
    Installer,
    Restraint,
    one_of,
    package_name_error,
    package_version_error,
)
from openarts.schemas.common import MAX_OFFSET, Shape, WireModel
from openarts.schemas.images import LIST_MAX_LIMIT, WORKSPACE_MAX

# -- enumerations -------------------------------------------------------------------------
# The create table names TensorFlow/Image/PyTorch/Template/MindSpore "read from the
# configuration file"; the list filter adds Custom; config.json (the conventions) allows
# the older engines too. A request may use any of them, in any case: the reference's own
# list answer writes "tensorflow".
ModelType = Literal[ConfigModelType, "Template"]
MODEL_TYPES: Final[tuple[str, ...]] = get_args(ModelType)
TEMPLATE_MODEL_TYPE: Final = "Template"

ModelStatus = Literal["publishing", "published", "failed", "building", "building_failed"]
MODEL_STATUSES: Final[tuple[str, ...]] = get_args(ModelStatus)
# Statuses in which the model can be deployed.
READY_MODEL_STATUSES: Final = ("published",)

# auto: ExeML; algos: a built-in algorithm; custom: the user's own model.
ModelSource = Literal["auto", "algos", "custom"]
MODEL_SOURCES: Final[tuple[str, ...]] = get_args(ModelSource)
DEFAULT_MODEL_SOURCE: Final = "custom"
# The only source type a request may name (models made by ExeML, which cannot be
# downloaded).
SourceType = Literal["auto"]
SOURCE_TYPES: Final[tuple[str, ...]] = get_args(SourceType)

# The create table spells real-time with a hyphen and lower case only; the details example
# answers "realtime", and edge appears there and in ModelArts.3076. Requests may send
# either spelling of real-time, which is kept as the table writes it.
InstallType = Literal["real-time", "batch", "edge"]
INSTALL_TYPES: Final[tuple[str, ...]] = get_args(InstallType)
DEFAULT_INSTALL_TYPES: Final[tuple[InstallType, ...]] = ("real-time", "batch")

# A string on the wire. Booleans are taken too and written as text.
SourceCopy = Literal["true", "false"]
SOURCE_COPIES: Final[tuple[str, ...]] = get_args(SourceCopy)
DEFAULT_SOURCE_COPY: Final = "true"

# The table's six parameter types, plus "box" (the create example's output parameter) and
# "object" (the details example's parameters).
ParamType = Literal["int", "string", "float", "timestamp", "date", "file", "box", "object"]
PARAM_TYPES: Final[tuple[str, ...]] = get_args(ParamType)
# Lower case as the examples write them; requests may use any case.
ApiMethodName = Literal["post", "get"]
API_METHOD_NAMES: Final[tuple[str, ...]] = get_args(ApiMethodName)

ModelSortBy = Literal["create_at", "model_version", "model_size"]
MODEL_SORT_KEYS: Final[tuple[str, ...]] = get_args(ModelSortBy)
DEFAULT_MODEL_SORT_BY: Final = "create_at"
SortOrder = Literal["asc", "desc"]
SORT_ORDERS: Final[tuple[str, ...]] = get_args(SortOrder)
DEFAULT_SORT_ORDER: Final = "desc"

# The runtime catalog's enumerations (answers only). The table's ai_engine list leaves out
# Custom, which its example answers.
AiEngine = Literal[
    "TensorFlow", "PyTorch", "MindSpore", "XGBoost", "Scikit_Learn", "Spark_MLlib", "Custom"
]
AI_ENGINES: Final[tuple[str, ...]] = get_args(AiEngine)
RequestMode = Literal["sync", "async"]
REQUEST_MODES: Final[tuple[str, ...]] = get_args(RequestMode)
EngineArch = Literal["x86_64", "aarch64"]
ENGINE_ARCHES: Final[tuple[str, ...]] = get_args(EngineArch)
EngineStatus = Literal["normal", "deleted", "deleting"]
ENGINE_STATUSES: Final[tuple[str, ...]] = get_args(EngineStatus)
ImageSource = Literal["base_image", "uniform_image"]
IMAGE_SOURCES: Final[tuple[str, ...]] = get_args(ImageSource)
AcceleratorType = Literal["npu", "gpu", "none"]
ACCELERATOR_TYPES: Final[tuple[str, ...]] = get_args(AcceleratorType)


def _install_type(value: object) -> object:
    if value == "realtime":
        return "real-time"
    # "Only lowercase letters are supported": no case folding here.
    return one_of(INSTALL_TYPES, fold=False)(value)


def _source_copy(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return one_of(SOURCE_COPIES)(value)


CanonicalModelType = Annotated[ModelType, BeforeValidator(one_of(MODEL_TYPES))]
CanonicalStatus = Annotated[ModelStatus, BeforeValidator(one_of(MODEL_STATUSES))]
CanonicalSourceType = Annotated[SourceType, BeforeValidator(one_of(SOURCE_TYPES))]
CanonicalInstallType = Annotated[InstallType, BeforeValidator(_install_type)]
CanonicalSourceCopy = Annotated[SourceCopy, BeforeValidator(_source_copy)]
CanonicalParamType = Annotated[ParamType, BeforeValidator(one_of(PARAM_TYPES))]
CanonicalProtocol = Annotated[ApiProtocol, BeforeValidator(one_of(API_PROTOCOLS))]
CanonicalMethod = Annotated[ApiMethodName, BeforeValidator(one_of(API_METHOD_NAMES))]
CanonicalInstaller = Annotated[Installer, BeforeValidator(one_of(INSTALLERS))]
CanonicalRestraint = Annotated[Restraint, BeforeValidator(one_of(RESTRAINTS))]
CanonicalSortBy = Annotated[ModelSortBy, BeforeValidator(one_of(MODEL_SORT_KEYS))]
CanonicalOrder = Annotated[SortOrder, BeforeValidator(one_of(SORT_ORDERS))]

# -- bounds -------------------------------------------------------------------------------
# The reference gives 1 to 64 characters and no alphabet. Letters (Chinese ones too, as
# the console takes them), digits, "-" and "_" are ours: names show up in image tags,
# paths and logs, where spaces and slashes do harm.
MODEL_NAME_MAX: Final = 64
MODEL_NAME_PATTERN: Final = "^[A-Za-z0-9_\u4e00-\u9fa5-]{1,64}$"
# A list filter is a fragment matched fuzzily.
MODEL_NAME_FILTER_PATTERN: Final = "^[A-Za-z0-9_\u4e00-\u9fa5-]{0,64}$"
# Three numbers of one or two digits without a leading zero: 1.0.0 and 10.2.33, not
# 01.01.01. Zero itself is allowed, as the reference's examples use it.
MODEL_VERSION_PATTERN: Final = r"^(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)$"
MODEL_DESCRIPTION_MAX: Final = 100
MODEL_DESCRIPTION_FORBIDDEN: Final = "&!'\"<>="
MODEL_DESCRIPTION_PATTERN: Final = r"^[^&!'\"<>=]*$"
MAX_MODEL_DOCS: Final = 3
DOC_URL_PATTERN: Final = r"^https?://\S+$"
DOC_NAME_PATTERN: Final = r"^[A-Za-z]"
# The reference recommends at most 64 characters for a parameter name and 100 for its
# description; the name's limit is kept, the description's is not, because the
# reference's own details answer carries a longer one (a JSON Schema as text).
PARAM_NAME_MAX: Final = 64
RUNTIME_PATTERN: Final = r"^[A-Za-z0-9._-]+$"
# OBS paths (obs://, https:// or /bucket/...) and SWR image addresses: one token.
LOCATION_MAX: Final = 2048
LOCATION_PATTERN: Final = r"^\S+$"
DEFAULT_WORKSPACE: Final = "0"
# Cascading deletion removes at most this many versions per call; the rest stay.
CASCADE_DELETE_MAX: Final = 20
MODEL_LIST_DEFAULT_LIMIT: Final = 1000
MODEL_LIST_QUERY: Final = (
    "model_name",
    "exact_match",
    "model_version",
    "model_status",
    "description",
    "offset",
    "limit",
    "sort_by",
    "order",
    "workspace_id",
    "model_type",
    "not_model_type",
)
MODEL_DELETE_QUERY: Final = ("cascade",)
RUNTIME_LIST_QUERY: Final = ("limit", "offset")
# Caps the reference does not give; ours, wide enough for real use.
_ID: Final = 64
_SHORT: Final = 256
_TEXT: Final = 4096
_CONFIG: Final = 1_048_576
_MANY: Final = 100


def _json_object(field: str, value: str) -> dict[str, Any]:
    try:
        document = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{field} is not valid JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{field} must be a JSON object written as a string")
    return document


# -- request pieces -----------------------------------------------------------------------
class GuideDoc(WireModel):
    """A document describing the model (an HTTP(S) link)."""

    doc_url: str = Field(max_length=LOCATION_MAX, pattern=DOC_URL_PATTERN)
    # Must start with a letter.
    doc_name: str = Field(min_length=1, max_length=_SHORT, pattern=DOC_NAME_PATTERN)


class TemplateInput(WireModel):
    # An OBS file or directory.
    input: str = Field(min_length=1, max_length=LOCATION_MAX, pattern=LOCATION_PATTERN)
    # The input item of the template this path fills.
    input_id: str = Field(min_length=1, max_length=_ID)


class ModelTemplate(WireModel):
    """The template a Template model is made from, and where its inputs come from."""

    # Overrides the template's built-in input and output mode.
    infer_format: str | None = Field(default=None, min_length=1, max_length=_ID)
    template_inputs: list[TemplateInput] = Field(min_length=1, max_length=_MANY)
    template_id: str = Field(min_length=1, max_length=_ID)

    @model_validator(mode="after")
    def _inputs_are_distinct(self) -> Self:
        # ModelArts.3039 on the cloud.
        seen: set[str] = set()
        for item in self.template_inputs:
            if item.input_id in seen:
                raise ValueError(f"template_inputs: input_id {item.input_id!r} is repeated")
            seen.add(item.input_id)
        return self


class PackageIn(WireModel):
    """One package of a dependency. Names and versions become pip's arguments, so they
    must be plain pip tokens."""

    package_version: str | None = None
    package_name: str = Field(min_length=1)
    # Needed when a version is given.
    restraint: CanonicalRestraint | None = None

    @field_validator("package_version", "restraint", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # The specification's own examples leave both empty for "any version".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("package_name")
    @classmethod
    def _name_is_a_pip_token(cls, value: str) -> str:
        problem = package_name_error(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("package_version")
    @classmethod
    def _version_is_a_pip_token(cls, value: str | None) -> str | None:
        problem = None if value is None else package_version_error(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _version_has_a_restraint(self) -> Self:
        if self.package_version is not None and self.restraint is None:
            raise ValueError(
                f"restraint is required when package_version is given (one of "
                f"{', '.join(RESTRAINTS)})"
            )
        return self


class DependencyIn(WireModel):
    # Only pip; the cloud's error table also mentions conda, yum and apt-get, which the
    # request table does not allow.
    installer: CanonicalInstaller
    packages: list[PackageIn] = Field(max_length=_MANY)


class ApiParamsSchema(WireModel):
    """An API's input or output as JSON Schema (the reference's ModelInOutputParams)."""

    type: str | None = Field(default=None, min_length=1, max_length=_ID)
    properties: dict[str, Any] | None = None


class ModelApiIn(WireModel):
    """One inference API of the model."""

    protocol: CanonicalProtocol | None = None
    method: CanonicalMethod | None = None
    input_params: ApiParamsSchema | None = None
    output_params: ApiParamsSchema | None = None
    url: str | None = Field(default=None, max_length=URL_PATH_MAX, pattern=URL_PATH_PATTERN)


class InferParamIn(WireModel):
    """One input or output parameter of an API (the reference's
    CreateModelRequestInferParams)."""

    protocol: CanonicalProtocol
    # Bounds of an int or float parameter.
    min: float | None = None
    method: CanonicalMethod
    max: float | None = None
    param_desc: str | None = Field(default=None, max_length=_TEXT)
    param_name: str = Field(min_length=1, max_length=PARAM_NAME_MAX)
    url: str = Field(max_length=URL_PATH_MAX, pattern=URL_PATH_PATTERN)
    param_type: CanonicalParamType

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) must not exceed max ({self.max:g})")
        return self


class ModelSecurityIn(WireModel):
    """Keys and policy of a model encrypted for the edge."""

    model_key: str | None = Field(default=None, max_length=_TEXT)
    rootKey: str | None = Field(default=None, max_length=_TEXT)
    security_policy: str | None = Field(default=None, max_length=_TEXT)
    is_verify_app: bool | None = None


class DeploymentConstraintsIn(WireModel):
    """Deployment constraints of a custom-image model; the wire names mix snake and camel
    case as the reference does."""

    request_mode: str | None = Field(default=None, max_length=_ID)
    cpu_type: str | None = Field(default=None, max_length=_ID)
    # e.g. OBS, VIS, DIS.
    input_types: list[str] | None = Field(default=None, max_length=_MANY)
    outputTypes: list[str] | None = Field(default=None, max_length=_MANY)
    # XML, passed through.
    service_config: str | None = Field(default=None, max_length=_CONFIG)
    task_config: str | None = Field(default=None, max_length=_CONFIG)
    model_security: ModelSecurityIn | None = None


# -- requests -----------------------------------------------------------------------------
class ModelCreate(WireModel):
    """POST /v1/{project_id}/models body: imports a model.

    A Template model names its ``template`` and needs no ``source_location``; any other
    model names where it is (an OBS directory, or for Image the SWR image). An Image model
    whose ``initial_config`` names its ``swr_location`` may leave ``source_location`` out.
    """

    model_docs: list[GuideDoc] | None = Field(default=None, max_length=MAX_MODEL_DOCS)
    template: ModelTemplate | None = None
    model_version: str = Field(pattern=MODEL_VERSION_PATTERN)
    source_job_version: str | None = Field(default=None, max_length=_ID)
    source_location: str | None = Field(
        default=None, min_length=1, max_length=LOCATION_MAX, pattern=LOCATION_PATTERN
    )
    # Image models only; unset means "true" (see copies_image).
    source_copy: CanonicalSourceCopy | None = None
    # The configuration file as a JSON string (apis, dependencies, health probes, ...).
    initial_config: str | None = Field(default=None, max_length=_CONFIG)
    # The OBS path of customize_service.py; unset means the one in the model directory.
    execution_code: str | None = Field(
        default=None, max_length=LOCATION_MAX, pattern=LOCATION_PATTERN
    )
    source_job_id: str | None = Field(default=None, max_length=_ID)
    model_type: CanonicalModelType
    output_params: list[InferParamIn] | None = Field(default=None, max_length=_MANY)
    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=MODEL_DESCRIPTION_MAX,
        pattern=MODEL_DESCRIPTION_PATTERN,
    )
    # Which runtimes fit depends on model_type (GET .../ai-engine-runtimes); only the
    # shape is checked here.
    runtime: str | None = Field(default=None, max_length=RUNTIME_MAX, pattern=RUNTIME_PATTERN)
    # Precision figures as a JSON object written as a string.
    model_metrics: str | None = Field(default=None, max_length=_TEXT)
    source_type: CanonicalSourceType | None = None
    dependencies: list[DependencyIn] | None = Field(default=None, max_length=_MANY)
    workspace_id: str = Field(default=DEFAULT_WORKSPACE, min_length=1, max_length=WORKSPACE_MAX)
    # e.g. predict_analysis, object_detection, image_classification; shaped as in
    # config.json.
    model_algorithm: str | None = Field(default=None, pattern=MODEL_ALGORITHM_PATTERN)
    apis: list[ModelApiIn] | None = Field(default=None, max_length=_MANY)
    model_name: str = Field(pattern=MODEL_NAME_PATTERN)
    install_type: list[CanonicalInstallType] = Field(
        default_factory=lambda: list(DEFAULT_INSTALL_TYPES),
        min_length=1,
        max_length=len(INSTALL_TYPES),
    )
    input_params: list[InferParamIn] | None = Field(default=None, max_length=_MANY)
    # The image's start command.
    cmd: str | None = Field(default=None, min_length=1, max_length=_TEXT)
    deployment_constraints: DeploymentConstraintsIn | None = None

    @field_validator("initial_config")
    @classmethod
    def _config_is_an_object(cls, value: str | None) -> str | None:
        if value is not None:
            _json_object("initial_config", value)
        return value

    @field_validator("model_metrics")
    @classmethod
    def _metrics_are_an_object(cls, value: str | None) -> str | None:
        if value is not None:
            _json_object("model_metrics", value)
        return value

    @field_validator("install_type")
    @classmethod
    def _install_types_are_distinct(cls, value: list[InstallType]) -> list[InstallType]:
        if len(set(value)) != len(value):
            raise ValueError("install_type lists a deployment type more than once")
        return value

    @model_validator(mode="after")
    def _source_fits_the_type(self) -> Self:
        if self.model_type == TEMPLATE_MODEL_TYPE:
            if self.template is None:
                raise ValueError("template is required when model_type is Template")
        elif self.source_location is None and not self._config_names_an_image():
            raise ValueError(
                "source_location is required unless model_type is Template, or Image with "
                "swr_location in initial_config"
            )
        return self

    def initial_config_object(self) -> dict[str, Any] | None:
        """``initial_config`` parsed (already known to be a JSON object)."""
        if self.initial_config is None:
            return None
        return _json_object("initial_config", self.initial_config)

    def _config_names_an_image(self) -> bool:
        if self.model_type != IMAGE_MODEL_TYPE:
            return False
        config = self.initial_config_object() or {}
        location = config.get("swr_location")
        return isinstance(location, str) and bool(location.strip())

    @property
    def copies_image(self) -> bool:
        """Whether an Image model's image is copied into the platform (the default)."""
        return self.model_type == IMAGE_MODEL_TYPE and self.source_copy != "false"


class ModelListQuery(WireModel):
    """GET /v1/{project_id}/models query string."""

    # A fragment, matched fuzzily; with exact_match an underscore is a literal underscore
    # rather than a wildcard.
    model_name: str | None = Field(default=None, pattern=MODEL_NAME_FILTER_PATTERN)
    exact_match: bool = False
    model_version: str | None = Field(default=None, pattern=MODEL_VERSION_PATTERN)
    model_status: CanonicalStatus | None = None
    # Matched fuzzily.
    description: str | None = Field(default=None, max_length=MODEL_DESCRIPTION_MAX)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(default=MODEL_LIST_DEFAULT_LIMIT, ge=1, le=LIST_MAX_LIMIT)
    sort_by: CanonicalSortBy = DEFAULT_MODEL_SORT_BY
    order: CanonicalOrder = DEFAULT_SORT_ORDER
    workspace_id: str | None = Field(default=None, min_length=1, max_length=WORKSPACE_MAX)
    # The page lists TensorFlow, PyTorch, MindSpore, Image, Custom and Template; every type
    # a model can be created with is taken, so each stored model can be found by its type.
    model_type: CanonicalModelType | None = None
    not_model_type: CanonicalModelType | None = None

    @model_validator(mode="after")
    def _one_type_filter(self) -> Self:
        if self.model_type is not None and self.not_model_type is not None:
            raise ValueError("model_type and not_model_type cannot be given together")
        return self


class ModelDeleteQuery(WireModel):
    """DELETE /v1/{project_id}/models/{model_id} query string: cascade also deletes the
    other versions of the same name (at most CASCADE_DELETE_MAX models in all)."""

    cascade: bool = False


class RuntimeListQuery(WireModel):
    """GET /v1/{project_id}/models/ai-engine-runtimes query string. The reference types
    both as strings; they are whole numbers. No limit means every engine."""

    limit: int | None = Field(default=None, ge=1, le=LIST_MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


# -- answers ------------------------------------------------------------------------------
def _text(value: object) -> object:
    """Health-check fields are strings on the wire; the service may hold numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _json_text(value: object) -> object:
    """apis, config and model_metrics are JSON written as strings on the wire; the
    service may hold the parsed value."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


Text = Annotated[str, BeforeValidator(_text)]
JsonText = Annotated[str, BeforeValidator(_json_text)]


class ModelCreated(Shape):
    """POST /v1/{project_id}/models answer."""

    model_id: str


class ModelSpecificationOut(Shape):
    """Minimum resources to deploy the model (the examples answer an empty object)."""

    min_cpu: str | None = None
    min_gpu: str | None = None
    min_memory: str | None = None


class GuideDocOut(Shape):
    doc_url: str | None = None
    doc_name: str | None = None


class PackageOut(Shape):
    package_version: str | None = None
    package_name: str | None = None
    restraint: str | None = None


class DependencyOut(Shape):
    installer: str | None = None
    packages: list[PackageOut] | None = None


class ModelHealthOut(Shape):
    """The health probe of a model; every value is a string on the wire."""

    protocol: str | None = None
    initial_delay_seconds: Text | None = None
    timeout_seconds: Text | None = None
    url: str | None = None
    period_seconds: Text | None = None
    failure_threshold: Text | None = None
    check_method: str | None = None
    command: str | None = None


class ModelParamOut(Shape):
    """One input or output parameter of a model's API (the reference's ModelParamsInfo)."""

    protocol: str | None = None
    url: str | None = None
    # int | float keeps 0 as 0 on the wire, not 0.0.
    min: int | float | None = None
    method: str | None = None
    max: int | float | None = None
    param_desc: str | None = None
    param_name: str | None = None
    param_type: str | None = None


class ModelListItem(Shape):
    """One model of the list. Times are epoch milliseconds, sizes bytes."""

    owner: str | None = None
    model_version: str | None = None
    model_type: str | None = None
    description: str | None = None
    project: str | None = None
    source_type: str | None = None
    model_id: str | None = None
    model_source: str | None = None
    install_type: list[str] | None = None
    model_size: int | None = None
    workspace_id: str | None = None
    model_status: str | None = None
    market_flag: bool | None = None
    tunable: bool | None = None
    model_name: str | None = None
    create_at: int | None = None
    publishable_flag: bool | None = None
    source_copy: str | None = None
    tenant: str | None = None
    subscription_id: str | None = None
    extra: str | None = None
    specification: ModelSpecificationOut | None = None


class ModelPage(Shape):
    """GET /v1/{project_id}/models answer: total_count counts every match, count the
    models on this page."""

    models: list[ModelListItem]
    total_count: int
    count: int


class ModelDetail(Shape):
    """GET /v1/{project_id}/models/{model_id} answer."""

    model_version: str | None = None
    source_job_version: str | None = None
    source_location: str | None = None
    source_job_id: str | None = None
    source_copy: str | None = None
    description: str | None = None
    project: str | None = None
    workspace_id: str | None = None
    model_algorithm: str | None = None
    model_name: str | None = None
    tenant: str | None = None
    model_docs: list[GuideDocOut] | None = None
    owner: str | None = None
    execution_code: str | None = None
    # Where the model's schema file can be downloaded.
    schema_doc: str | None = None
    # The image built for the model.
    image_address: str | None = None
    output_params: list[ModelParamOut] | None = None
    health: ModelHealthOut | None = None
    runtime: str | None = None
    model_metrics: JsonText | None = None
    source_type: str | None = None
    model_type: str | None = None
    model_id: str | None = None
    dependencies: list[DependencyOut] | None = None
    model_size: int | None = None
    model_status: str | None = None
    # A JSON array written as a string.
    apis: JsonText | None = None
    model_source: str | None = None
    tunable: bool | None = None
    market_flag: bool | None = None
    publishable_flag: bool | None = None
    model_labels: list[str] | None = None
    # The table says Map<String,String>; the example maps "labels" to an array.
    labels_map: dict[str, list[str]] | None = None
    install_type: list[str] | None = None
    # The configuration file (with its health, readiness_health and startup_health
    # probes) written as a string.
    config: JsonText | None = None
    specification: ModelSpecificationOut | None = None
    input_params: list[ModelParamOut] | None = None
    create_at: int | None = None
    cmd: str | None = None
    # Not in the reference, which has no place for it: why a model's import failed (its
    # events say it too), present only while model_status is failed.
    failed_reason: str | None = None


class DeleteFailure(Shape):
    """A model that could not be deleted, and why (e.g. ModelArts.3009: it backs a
    service)."""

    error_msg: str | None = None
    error_code: str | None = None
    model_id: str | None = None


class ModelDeleteResult(Shape):
    """DELETE /v1/{project_id}/models/{model_id} answer; a failed deletion is reported
    here with status 200, not as an error answer."""

    delete_success_list: list[str] = Field(default_factory=list)
    delete_failed_list: list[DeleteFailure] = Field(default_factory=list)


class AcceleratorOut(Shape):
    type: str | None = None
    # e.g. SNT9B.
    name: str | None = None
    cuda_version: str | None = None
    driver_version_section: str | None = None


class EngineRuntimesOut(Shape):
    """One AI engine and its runtimes. The lists run in parallel: the n-th request mode,
    accelerator, arch, status and image source belong to the n-th runtime."""

    ai_engine: str | None = None
    runtimes: list[str] | None = None
    request_mode: list[str] | None = None
    accelerators: list[AcceleratorOut] | None = None
    arch: list[str] | None = None
    status_list: list[str] | None = None
    image_source: list[str] | None = None


class EngineRuntimePage(Shape):
    """GET /v1/{project_id}/models/ai-engine-runtimes answer. The page's two
    descriptions contradict the model list's; here as there, count is taken as the
    engines on this page and total_count as every engine."""

    count: int
    total_count: int
    engine_runtimes: list[EngineRuntimesOut]


# Status codes the reference gives: every call answers 200.
CREATE_STATUS: Final = 200
DELETE_STATUS: Final = 200
