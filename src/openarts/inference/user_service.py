"""Loading ``customize_service.py`` and constructing the service class it defines.

The rules, after ModelArts' preset runtime:

- ``modelarts_path`` (the ``model_service`` base classes and the ``log`` module) goes
  first on ``sys.path``, the model directory second, so helper modules import by name;
- ``customize_service.py`` is imported as a submodule of a package whose path is the model
  directory, so ``from . import helper`` works as well;
- the service is the one class in it that derives a base class and has no subclasses;
- it is constructed ``cls(model_path)`` for the ML bases (``XgSklServingBaseService``,
  ``SparkServingBaseService``) and ``cls(model_name, model_path)`` for the rest, unless
  its ``__init__`` takes the other number of arguments; ``model_path`` is chosen as
  ``model_files`` describes.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from openarts.inference.ml_request import ml_response
from openarts.inference.model_files import ML_TIERS, PYTORCH_TIERS, choose_model_file
from openarts.inference.request_text import RequestText

logger = logging.getLogger(__name__)

SERVICE_FILE = "customize_service.py"
MODELARTS_PATH = Path(__file__).parent / "modelarts_path"
# The package customize_service.py is imported into; private so no user module clashes.
PACKAGE = "_openarts_model"
# The top-level packages whose classes are ModelArts' bases rather than user classes.
_BASE_PACKAGES = ("model_service", "mms")


class ServiceLoadError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class _Family:
    """What a base class decides: constructor arguments, model_path, request reading."""

    ml: bool
    model_file_tiers: tuple[tuple[str, ...], ...] | None


# The first of these bases in a service's MRO decides its family; the rest are
# directory engines with the deep-learning constructor.
_FAMILIES = {
    "XgSklServingBaseService": _Family(ml=True, model_file_tiers=ML_TIERS),
    "SparkServingBaseService": _Family(ml=True, model_file_tiers=None),
    "PTServingBaseService": _Family(ml=False, model_file_tiers=PYTORCH_TIERS),
}
_DIRECTORY_ENGINE = _Family(ml=False, model_file_tiers=None)


def use_modelarts_path(model_dir: Path) -> None:
    for entry in (str(model_dir), str(MODELARTS_PATH)):
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)


def import_service_module(model_dir: Path) -> ModuleType:
    spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(model_dir)]
    sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)
    return importlib.import_module(f"{PACKAGE}.{SERVICE_FILE.removesuffix('.py')}")


def find_service_class(module: ModuleType) -> type[Any]:
    root: type[Any] = importlib.import_module("model_service.model_service").SingleNodeService
    found: dict[int, type[Any]] = {}
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, root)
            and not _is_base(value)
            and not value.__subclasses__()
        ):
            found[id(value)] = value
    if not found:
        raise ServiceLoadError(
            f"{SERVICE_FILE} defines no class deriving a ModelArts base class "
            "(for example model_service.pytorch_model_service.PTServingBaseService)"
        )
    if len(found) > 1:
        names = ", ".join(sorted(cls.__name__ for cls in found.values()))
        raise ServiceLoadError(
            f"{SERVICE_FILE} defines several service classes ({names}); ModelArts serves "
            "exactly one class that derives a base class and has no subclasses"
        )
    return next(iter(found.values()))


def _is_base(cls: type[Any]) -> bool:
    return cls.__module__.split(".", 1)[0] in _BASE_PACKAGES


def _family(cls: type[Any]) -> _Family:
    for ancestor in cls.__mro__:
        if _is_base(ancestor):
            return _FAMILIES.get(ancestor.__name__, _DIRECTORY_ENGINE)
    return _DIRECTORY_ENGINE


def _constructor_arguments(
    cls: type[Any], ml: bool, model_name: str, model_path: str
) -> tuple[str, ...]:
    preferred = (model_path,) if ml else (model_name, model_path)
    other = (model_name, model_path) if ml else (model_path,)
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return preferred
    if any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters):
        return preferred
    positional = [
        parameter
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = sum(1 for parameter in positional if parameter.default is parameter.empty)
    for arguments in (preferred, other):
        if required <= len(arguments) <= len(positional):
            return arguments
    return preferred


class ServicePredictor:
    """A deep-learning service: the request payload in, the service's result out."""

    takes_json_text = False

    def __init__(self, service: Any) -> None:
        self.service = service
        self.predict = service.inference


class MlServicePredictor:
    """An ML service: the JSON text in, the result wrapped as ``data.resp_data``."""

    takes_json_text = True

    def __init__(self, service: Any) -> None:
        self.service = service
        self._inference = service.inference

    def predict(self, text: RequestText) -> Any:
        return ml_response(text.parsed, self._inference(text))


def load_user_service(model_dir: Path, model_name: str) -> ServicePredictor | MlServicePredictor:
    use_modelarts_path(model_dir)
    cls = find_service_class(import_service_module(model_dir))
    family = _family(cls)
    if family.model_file_tiers is None:
        model_path = model_dir
    else:
        model_path = choose_model_file(model_dir, family.model_file_tiers)
    arguments = _constructor_arguments(cls, family.ml, model_name, str(model_path))
    logger.info("constructing %s.%s%r", cls.__module__, cls.__qualname__, arguments)
    service = cls(*arguments)
    return MlServicePredictor(service) if family.ml else ServicePredictor(service)
