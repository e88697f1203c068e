"""Checking and resolving what algorithms and training jobs ask for: code, engine,
hyperparameters, data channels and object-storage paths. Shared by both, so an
algorithm that was accepted always makes a job that can be accepted."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession

from openarts import errors
from openarts.domain.engines import (
    BUILTIN_ID,
    Engine,
    EngineChoice,
    choose_engine,
    find_engine,
    preset_engines,
)
from openarts.domain.images import is_image_reference
from openarts.domain.training import ENV_NAME_PATTERN, MAX_ENVIRONMENTS
from openarts.errors import OpenArtsError
from openarts.services import buckets
from openarts.storage.paths import InvalidPath, ObjectPath

CHANNEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def bad(message: str, code: str = errors.TRAINING_BAD_PARAMETER) -> OpenArtsError:
    return OpenArtsError(code, message)


@dataclass(frozen=True, slots=True)
class Code:
    code_dir: str | None  # obs://bucket/prefix/
    boot_file: str | None  # relative to code_dir
    command: str | None


def resolve_code(code_dir: str | None, boot_file: str | None, command: str | None) -> Code:
    """code_dir with boot_file, or a command (with or without code_dir)."""
    command = (command or "").strip() or None
    if command is not None and "\n" in command:
        raise bad("algorithm command must be one line: join steps with ';' or '&&'")
    if boot_file and not code_dir:
        raise bad("algorithm boot_file needs code_dir, the folder it is in", errors.CODE_DIR_ERROR)
    if not boot_file and command is None:
        if code_dir:
            raise bad(
                "algorithm code_dir needs a boot_file inside it, or a command",
                errors.BOOT_FILE_ERROR,
            )
        raise bad("the algorithm is missing: give algorithm.id, code_dir and boot_file, or command")
    folder = None
    if code_dir:
        folder = _object_path("code_dir", code_dir, errors.CODE_DIR_ERROR)
        if not folder.key:
            raise bad(f"code_dir {code_dir} names a bucket, not a folder", errors.CODE_DIR_ERROR)
        if not folder.is_prefix:
            folder = ObjectPath(folder.bucket, folder.key + "/")
    relative = None
    if boot_file:
        assert folder is not None
        boot = _object_path("boot_file", boot_file, errors.BOOT_FILE_ERROR)
        if boot.bucket != folder.bucket or not boot.key.startswith(folder.key) or boot.is_prefix:
            raise bad(
                f"boot_file {boot_file} is not a file inside code_dir {code_dir}",
                errors.BOOT_FILE_ERROR,
            )
        relative = boot.key[len(folder.key) :]
    return Code(str(folder) if folder else None, relative, command)


def resolve_engine(
    catalog: list[Engine],
    *,
    engine_id: str | None,
    engine_name: str | None,
    engine_version: str | None,
    image_url: str | None,
) -> tuple[EngineChoice | None, str | None]:
    """The engine chosen (the built-in one when none is named; ModelArts' preset engines
    by their own names), or a container image."""
    if image_url:
        if not is_image_reference(image_url):
            raise bad(f"engine.image_url {image_url!r} is not an image reference (host/name:tag)")
        return None, image_url
    if not engine_id and not engine_name:
        builtin = find_engine(catalog, engine_id=BUILTIN_ID)
        if builtin is None:
            raise bad("the built-in engine is not in this catalog", errors.ENGINE_NOT_FOUND)
        return EngineChoice(builtin, builtin.id, builtin.name, builtin.version), None
    chosen = choose_engine(
        catalog, preset_engines(), engine_id=engine_id, name=engine_name, version=engine_version
    )
    if isinstance(chosen, str):
        known = ", ".join(f"{e.name} {e.version} ({e.id})" for e in catalog)
        raise bad(
            f"{chosen}; the engines are: {known}, and ModelArts' preset engines by their "
            "names (GET /v2/{project_id}/training-job-engines lists them all)",
            errors.ENGINE_NOT_FOUND,
        )
    return chosen, None


@dataclass(frozen=True, slots=True)
class ParameterRule:
    name: str
    default: str | None
    type: str | None
    editable: bool
    required: bool
    valid_type: str | None
    valid_range: Sequence[str]


def resolve_parameters(
    rules: Iterable[ParameterRule], given: Iterable[tuple[str, str | None]]
) -> list[tuple[str, str]]:
    """The hyperparameters a job runs with: the algorithm's, overridden by the job's,
    each checked against its constraint."""
    by_name = {rule.name: rule for rule in rules}
    values: dict[str, str | None] = {rule.name: rule.default for rule in by_name.values()}
    for name, value in given:
        if not name:
            raise bad("every parameter needs a name")
        rule = by_name.get(name)
        if rule is not None and not rule.editable and value != rule.default:
            raise bad(f"parameter {name} is not editable: it stays {rule.default!r}")
        values[name] = value
    result = []
    for name, value in values.items():
        rule = by_name.get(name)
        if value is None or value == "":
            if rule is not None and rule.required:
                raise bad(f"parameter {name} is required")
            if value is None:
                continue
        if rule is not None:
            _check_value(rule, value)
        result.append((name, value))
    return result


def _check_value(rule: ParameterRule, value: str) -> None:
    kind = (rule.type or "String").lower()
    number: float | None = None
    if kind in ("integer", "int"):
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise bad(f"parameter {rule.name} must be an integer, not {value!r}")
        number = int(value)
    elif kind == "float":
        try:
            number = float(value)
        except ValueError:
            raise bad(f"parameter {rule.name} must be a number, not {value!r}") from None
    elif kind == "boolean" and value.lower() not in ("true", "false"):
        raise bad(f"parameter {rule.name} must be true or false, not {value!r}")
    valid = (rule.valid_type or "None").lower()
    if valid == "choice" and rule.valid_range and value not in rule.valid_range:
        raise bad(f"parameter {rule.name} must be one of {', '.join(rule.valid_range)}")
    if valid == "range" and len(rule.valid_range) == 2:
        low, high = (float(v) for v in rule.valid_range)
        actual = number if number is not None else _as_number(rule.name, value)
        if not low <= actual <= high:
            raise bad(f"parameter {rule.name} must be between {low:g} and {high:g}, not {value}")


def _as_number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise bad(f"parameter {name} must be a number, not {value!r}") from None


def check_channel_name(kind: str, name: str) -> str:
    if not CHANNEL_NAME.fullmatch(name):
        raise bad(
            f"{kind} name {name!r} must start with a letter or '_' and have at most 64 "
            "letters, digits, '_' or '-'"
        )
    return name


def check_environments(environments: dict[str, str]) -> dict[str, str]:
    if len(environments) > MAX_ENVIRONMENTS:
        raise bad(f"at most {MAX_ENVIRONMENTS} environments may be set")
    for name in environments:
        if not ENV_NAME_PATTERN.fullmatch(name):
            raise bad(f"environment variable name {name!r} is not valid")
        if name.upper().startswith("MA_"):
            raise bad(f"environment variable {name}: names starting with MA_ are the platform's")
    return environments


async def owned_path(
    session: AsyncSession, project_id: str, what: str, text: str, *, folder: bool
) -> str:
    """An object path in a bucket of this project, as obs://bucket/key (a folder path
    ends with '/')."""
    path = _object_path(what, text, errors.TRAINING_BAD_PARAMETER)
    if await buckets.owner_of(session, path.bucket) != project_id:
        raise bad(f"{what} {text}: bucket {path.bucket} does not exist in this project")
    if folder and not path.is_prefix:
        path = ObjectPath(path.bucket, path.key + "/")
    return str(path)


def _object_path(what: str, text: str, code: str) -> ObjectPath:
    try:
        path = ObjectPath.parse(text)
    except InvalidPath as error:
        raise bad(f"{what}: {error}", code) from None
    # Refused now rather than at start: a path that means a parent folder once decoded
    # (%2e%2e), as a client or a later hop may decode it.
    if any(part in (".", "..") for part in unquote(path.key).split("/")):
        raise bad(f"{what}: {text!r} has a '.' or '..' segment once percent-decoded", code)
    return path
