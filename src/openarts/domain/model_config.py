"""The ``config.json`` of a model package: what the model is, how it is called, what it
needs installed and how its health is probed.

The shape follows MODELARTS-CONVENTIONS.md section 2 ("Model package from OBS") and the
``config`` string in the reference's model-details example. The file is written by hand,
so reading it is forgiving where the documentation itself is sloppy: the published
examples misspell ``protocol`` as ``procotol`` and ``application/json`` as
``applicaton/json``, enumerations arrive in any case, and health-check numbers arrive as
strings or numbers. Keys this module does not know are kept, never refused.

Package names and versions end up as pip's command-line arguments, so they are held to
the shape of a pip requirement token here, once, and every later use can trust them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, Literal, Self, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

# -- enumerations -------------------------------------------------------------------------
# The conventions' list, plus Custom: the reference's list filter and its runtime catalog
# both name it. Template models are made from a template and carry no config.json.
ConfigModelType = Literal[
    "TensorFlow",
    "MXNet",
    "Spark_MLlib",
    "Caffe",
    "Scikit_Learn",
    "XGBoost",
    "PyTorch",
    "MindSpore",
    "Image",
    "Custom",
]
CONFIG_MODEL_TYPES: Final[tuple[str, ...]] = get_args(ConfigModelType)
IMAGE_MODEL_TYPE: Final = "Image"

ApiProtocol = Literal["http", "https"]
API_PROTOCOLS: Final[tuple[str, ...]] = get_args(ApiProtocol)
# The reference's request table names post and get; custom images may also serve PUT and
# DELETE (the conventions' section 4).
ApiMethod = Literal["POST", "GET", "PUT", "DELETE"]
API_METHODS: Final[tuple[str, ...]] = get_args(ApiMethod)
DEFAULT_API_METHOD: Final = "POST"
DEFAULT_API_URL: Final = "/"
ContentType = Literal["application/json", "multipart/form-data"]
CONTENT_TYPES: Final[tuple[str, ...]] = get_args(ContentType)

Installer = Literal["pip"]
INSTALLERS: Final[tuple[str, ...]] = get_args(Installer)
Restraint = Literal["EXACT", "ATLEAST", "ATMOST"]
RESTRAINTS: Final[tuple[str, ...]] = get_args(Restraint)
# pip's comparison for each restraint.
RESTRAINT_OPERATORS: Final[dict[str, str]] = {"EXACT": "==", "ATLEAST": ">=", "ATMOST": "<="}

CheckMethod = Literal["HTTP", "EXEC"]
CHECK_METHODS: Final[tuple[str, ...]] = get_args(CheckMethod)

# -- bounds -------------------------------------------------------------------------------
# Starts with a letter, at most 36 characters, none of & ! ' " < > =.
MODEL_ALGORITHM_MAX: Final = 36
MODEL_ALGORITHM_FORBIDDEN: Final = "&!'\"<>="
MODEL_ALGORITHM_PATTERN: Final = r"^[A-Za-z][^&!'\"<>=]{0,35}$"
# A distribution name as PEP 508 spells it, with optional extras ("uvicorn[standard]").
# Nothing here can be read by pip as an option or by a shell as syntax.
PACKAGE_NAME_MAX: Final = 128
PACKAGE_NAME_PATTERN: Final = (
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
    r"(?:\[[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
    r"(?:,[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)*\])?$"
)
# A PEP 440 version (epoch "1!", local "+cu118", wildcard "1.*"), starting with a digit or
# letter so that it can never be read as an option.
PACKAGE_VERSION_MAX: Final = 64
PACKAGE_VERSION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9.+!*_-]*$"
URL_PATH_MAX: Final = 1024
URL_PATH_PATTERN: Final = r"^/[^\s]*$"
RUNTIME_MAX: Final = 128
SWR_LOCATION_MAX: Final = 2048
# Seconds and counts of a health probe; a day is far beyond any real probe.
HEALTH_SECONDS_MAX: Final = 86_400
HEALTH_THRESHOLD_MAX: Final = 10_000

_PACKAGE_NAME_RE: Final = re.compile(PACKAGE_NAME_PATTERN)
_PACKAGE_VERSION_RE: Final = re.compile(PACKAGE_VERSION_PATTERN)
# A rejected value is quoted in the message; a long one is cut so the line stays short.
_QUOTE_MAX: Final = 60


def _quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 3] + "..."


def one_of(choices: Sequence[str], *, fold: bool = True) -> Callable[[object], object]:
    """A before-validator that maps a string onto its spelling in ``choices`` (ignoring
    case when ``fold``) and refuses anything else with a message listing the choices."""
    canonical = {(c.casefold() if fold else c): c for c in choices}

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        key = value.strip()
        found = canonical.get(key.casefold() if fold else key)
        if found is None:
            raise ValueError(f"{_quoted(value)} must be one of {', '.join(choices)}")
        return found

    return check


def package_name_error(name: str) -> str | None:
    """Why ``name`` cannot be handed to pip as a distribution name, or None if it can."""
    if len(name) > PACKAGE_NAME_MAX:
        return f"must be at most {PACKAGE_NAME_MAX} characters"
    if not _PACKAGE_NAME_RE.fullmatch(name):
        return (
            f"{_quoted(name)} is not a pip package name (letters, digits, '.', '_', '-', "
            "optional [extras]; no spaces, options or shell characters)"
        )
    return None


def package_version_error(version: str) -> str | None:
    """Why ``version`` cannot be handed to pip as a version, or None if it can."""
    if len(version) > PACKAGE_VERSION_MAX:
        return f"must be at most {PACKAGE_VERSION_MAX} characters"
    if not _PACKAGE_VERSION_RE.fullmatch(version):
        return (
            f"{_quoted(version)} is not a pip version (letters, digits and . + ! * _ -; "
            "no spaces, options or shell characters)"
        )
    return None


def _check_package_name(value: str) -> str:
    problem = package_name_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_package_version(value: str | None) -> str | None:
    if value is None:
        return None
    problem = package_version_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _whole_number(value: object) -> object:
    """Health-check numbers are strings in the documentation ("12") and numbers in many
    real files; take both, but not booleans, which pydantic would read as 0 and 1."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not a boolean")
    if isinstance(value, str):
        text = value.strip()
        # isdigit alone also passes digits of other scripts, which int() may not read.
        if not (text.isascii() and text.isdigit()):
            raise ValueError(f"{_quoted(value)} is not a whole number")
        return int(text)
    return value


def _content_type(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    # The documentation's own example misspells it.
    if text == "applicaton/json":
        text = "application/json"
    return one_of(CONTENT_TYPES)(text)


def _restraint(value: object) -> object:
    # Tools that write every key leave an unused restraint empty.
    if isinstance(value, str) and not value.strip():
        return None
    return one_of(RESTRAINTS)(value)


Seconds = Annotated[int, BeforeValidator(_whole_number), Field(ge=0, le=HEALTH_SECONDS_MAX)]
PositiveSeconds = Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=HEALTH_SECONDS_MAX)]
Threshold = Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=HEALTH_THRESHOLD_MAX)]
UrlPath = Annotated[str, Field(min_length=1, max_length=URL_PATH_MAX, pattern=URL_PATH_PATTERN)]


# -- the file's parts ---------------------------------------------------------------------
class ConfigMetrics(BaseModel):
    """Model precision figures; other figures a tool writes are kept."""

    model_config = ConfigDict(extra="allow")

    f1: float | None = None
    recall: float | None = None
    precision: float | None = None
    accuracy: float | None = None


class ApiBody(BaseModel):
    """The request or response of one API: its content type and a JSON Schema of the
    data, kept as written (the schema is documentation, not checked here)."""

    # Dumps write "Content-type", the file's own spelling.
    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)

    content_type: Annotated[ContentType | None, BeforeValidator(_content_type)] = Field(
        default=None,
        validation_alias=AliasChoices("Content-type", "Content-Type", "content-type"),
        serialization_alias="Content-type",
    )
    data: dict[str, Any] | None = None


class ConfigApi(BaseModel):
    """One inference API the model serves."""

    model_config = ConfigDict(extra="allow")

    # Unset means the import path's default (https for OBS imports, per the conventions).
    protocol: Annotated[ApiProtocol | None, BeforeValidator(one_of(API_PROTOCOLS))] = None
    url: UrlPath = DEFAULT_API_URL
    method: Annotated[ApiMethod, BeforeValidator(one_of(API_METHODS))] = DEFAULT_API_METHOD
    request: ApiBody | None = None
    response: ApiBody | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_misspelt_protocol(cls, data: Any) -> Any:
        # The documentation's examples write "procotol"; a real "protocol" wins.
        if isinstance(data, dict) and "procotol" in data:
            data = dict(data)
            misspelt = data.pop("procotol")
            data.setdefault("protocol", misspelt)
        return data


class ConfigPackage(BaseModel):
    """One pip package. A version without a restraint is taken as EXACT: the file names
    one version and nothing else."""

    model_config = ConfigDict(extra="allow")

    package_name: str
    package_version: str | None = None
    restraint: Annotated[Restraint | None, BeforeValidator(_restraint)] = None

    @field_validator("package_name", mode="before")
    @classmethod
    def _name_is_a_pip_token(cls, value: object) -> object:
        if isinstance(value, str):
            return _check_package_name(value.strip())
        return value

    @field_validator("package_version", mode="before")
    @classmethod
    def _version_is_a_pip_token(cls, value: object) -> object:
        if isinstance(value, str):
            # An empty version is how some tools write "no version".
            return _check_package_version(value.strip() or None)
        return value

    def requirement(self) -> str:
        """The pip requirement string, checked again: the model may have been changed
        or built without validation since it was read."""
        problem = package_name_error(self.package_name)
        if problem is not None:
            raise ValueError(f"package_name: {problem}")
        if self.package_version is None:
            return self.package_name
        problem = package_version_error(self.package_version)
        if problem is not None:
            raise ValueError(f"package_version: {problem}")
        restraint = self.restraint or "EXACT"
        operator = RESTRAINT_OPERATORS.get(restraint)
        if operator is None:
            raise ValueError(
                f"restraint: {_quoted(restraint)} must be one of {', '.join(RESTRAINTS)}"
            )
        return f"{self.package_name}{operator}{self.package_version}"


class ConfigDependency(BaseModel):
    """A group of packages for one installer; groups are installed in list order."""

    model_config = ConfigDict(extra="allow")

    installer: Annotated[Installer, BeforeValidator(one_of(INSTALLERS))] = "pip"
    packages: list[ConfigPackage] = Field(default_factory=list)


class ConfigHealth(BaseModel):
    """A health, readiness or start-up probe. Numbers are exposed as ints whichever way
    the file wrote them."""

    model_config = ConfigDict(extra="allow")

    url: UrlPath | None = None
    protocol: Annotated[ApiProtocol | None, BeforeValidator(one_of(API_PROTOCOLS))] = None
    initial_delay_seconds: Seconds | None = None
    timeout_seconds: PositiveSeconds | None = None
    period_seconds: PositiveSeconds | None = None
    failure_threshold: Threshold | None = None
    check_method: Annotated[CheckMethod | None, BeforeValidator(one_of(CHECK_METHODS))] = None
    # An EXEC probe's command line, words separated by spaces.
    command: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _says_what_to_probe(self) -> Self:
        if self.check_method == "EXEC":
            if self.command is None:
                raise ValueError("command is required when check_method is EXEC")
        elif self.url is None:
            raise ValueError("url is required for an HTTP health check")
        return self


# -- the file -----------------------------------------------------------------------------
class ModelConfigFile(BaseModel):
    """A model package's ``config.json``. Unknown keys (``model_source``, ``tunable``,
    ``input_params``, ...) are kept as extras."""

    model_config = ConfigDict(extra="allow")

    # Required, but for a custom server (Image), which may have no config.json at all.
    model_algorithm: str = ""
    model_type: Annotated[ConfigModelType, BeforeValidator(one_of(CONFIG_MODEL_TYPES))]
    # Depends on the engine and means nothing for Image; unset means the engine's default.
    runtime: str | None = Field(default=None, min_length=1, max_length=RUNTIME_MAX)
    # The SWR image of an Image model imported from OBS.
    swr_location: str | None = Field(default=None, min_length=1, max_length=SWR_LOCATION_MAX)
    metrics: ConfigMetrics | None = None
    apis: list[ConfigApi] = Field(default_factory=list)
    dependencies: list[ConfigDependency] = Field(default_factory=list)
    health: ConfigHealth | None = None
    readiness_health: ConfigHealth | None = None
    startup_health: ConfigHealth | None = None

    @model_validator(mode="after")
    def _algorithm_named(self) -> ModelConfigFile:
        if not self.model_algorithm and self.model_type != IMAGE_MODEL_TYPE:
            raise ValueError("model_algorithm: is required")
        return self

    @field_validator("model_algorithm")
    @classmethod
    def _algorithm_shape(cls, value: str) -> str:
        if not re.fullmatch(MODEL_ALGORITHM_PATTERN, value):
            raise ValueError(
                f"{_quoted(value)} must start with a letter, be at most "
                f"{MODEL_ALGORITHM_MAX} characters and contain none of {MODEL_ALGORITHM_FORBIDDEN}"
            )
        return value

    def pip_requirements(self) -> list[str]:
        """The packages as pip requirement strings (``numpy==1.17.0``), in file order.

        Raises ValueError for a name or version that is not a plain pip token, so the
        result is safe to pass to pip one argument each."""
        return _requirements(self.dependencies)

    def api_routes(self) -> list[tuple[str, str]]:
        """The (METHOD, url) pairs to serve, first declaration first; POST / when the
        file declares no API."""
        routes: list[tuple[str, str]] = []
        for api in self.apis:
            route = (api.method, api.url)
            if route not in routes:
                routes.append(route)
        return routes or [(DEFAULT_API_METHOD, DEFAULT_API_URL)]


# -- pip requirements ---------------------------------------------------------------------
def _requirements(groups: Sequence[ConfigDependency]) -> list[str]:
    requirements: list[str] = []
    for group, dependency in enumerate(groups):
        if dependency.installer != "pip":
            raise ValueError(
                f"dependencies[{group}].installer: {_quoted(dependency.installer)} "
                "is not supported; only pip is"
            )
        for index, package in enumerate(dependency.packages):
            try:
                requirements.append(package.requirement())
            except ValueError as exc:
                raise ValueError(f"dependencies[{group}].packages[{index}].{exc}") from None
    return requirements


_DEPENDENCY_LIST: Final = TypeAdapter(list[ConfigDependency])


def requirements_of(dependencies: object) -> list[str]:
    """pip requirement strings of a ``dependencies`` list as JSON decodes it (the create
    request's field or config.json's), in list order; None means none.

    Raises ValueError naming the bad entry ("dependencies[0].packages[1].package_name:
    ...")."""
    if dependencies is None:
        return []
    try:
        groups = _DEPENDENCY_LIST.validate_python(dependencies)
    except ValidationError as exc:
        raise ValueError(_first_problem(exc, root="dependencies")) from None
    return _requirements(groups)


# -- reading ------------------------------------------------------------------------------
def _where(location: Sequence[int | str]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _first_problem(error: ValidationError, *, root: str = "") -> str:
    problem = error.errors(include_url=False)[0]
    where = _where((root, *problem["loc"]) if root else problem["loc"])
    if problem["type"] == "missing":
        message = "is required"
    else:
        message = problem["msg"].removeprefix("Value error, ")
    message = " ".join(message.split())
    return f"{where}: {message}" if where else message


_JSON_KINDS: Final[dict[type, str]] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def parse_model_config(text: str) -> ModelConfigFile:
    """Read the text of a ``config.json``.

    Raises ValueError with one line that starts "config.json:" and names the first bad
    field, fit to be shown to the user as the reason an import failed."""
    # Editors on Windows save a byte-order mark that json refuses.
    text = text.removeprefix("\ufeff")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"config.json: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict):
        kind = _JSON_KINDS.get(type(document), type(document).__name__)
        raise ValueError(f"config.json: must be a JSON object, not {kind}")
    try:
        return ModelConfigFile.model_validate(document)
    except ValidationError as exc:
        raise ValueError(f"config.json: {_first_problem(exc)}") from None
