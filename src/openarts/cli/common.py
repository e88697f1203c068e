"""What every resource command shares: the client and printer of this invocation, bodies
from files, errors turned into one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml

from openarts.cli.api_client import ApiClient, ApiError, CliError
from openarts.cli.output import Printer, err, error_line, pick
from openarts.cli.profiles import ProfileError, resolve
from openarts.settings import Settings

T = TypeVar("T")

CLIENT_KEY = "openarts.client"
PRINTER_KEY = "openarts.printer"
FLAGS_KEY = "openarts.flags"

# What counts as not given for a required field.
MISSING: tuple[Any, ...] = (None, "", [], {})

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="The request body as YAML or JSON, as the API reference gives it ('-' reads stdin).",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(error_line(message))
    return typer.Exit(code)


@contextmanager
def reported() -> Iterator[None]:
    """Errors from the API or the connection become one line on stderr and exit 1."""
    try:
        yield
    except ApiError as exc:
        raise fail(str(exc)) from None
    except (CliError, ProfileError) as exc:
        raise fail(str(exc)) from None


def client(ctx: typer.Context) -> ApiClient:
    made = ctx.meta.get(CLIENT_KEY)
    if made is None:
        settings: Settings = ctx.find_root().obj
        flags, profile_name = ctx.meta.get(FLAGS_KEY, ({}, None))
        with reported():
            made = ApiClient(resolve(settings, profile_name, flags))
        ctx.meta[CLIENT_KEY] = made
    return made


def printer(ctx: typer.Context) -> Printer:
    made = ctx.meta.get(PRINTER_KEY)
    return made if isinstance(made, Printer) else Printer()


def call(ctx: typer.Context, method: str, path: str, body: Any = None, **params: Any) -> Any:
    """One API call, reported as a CLI error when it fails."""
    if path.endswith("/") or "//" in path:
        # An empty ID ("$ID" unset in a script) would name another route, say the list.
        raise fail(f"an ID is empty in {path}: give the resource's ID")
    with reported():
        return client(ctx).call(method, path, body, params=params or None)


def load_body(path: Path | None, what: str = "body") -> dict[str, Any] | None:
    """The mapping in a YAML or JSON file (JSON is YAML), or None without a file."""
    if path is None:
        return None
    text = read_text_file(path)
    try:
        body = yaml.load(text, Loader=_JsonishLoader)
    except yaml.YAMLError as exc:
        raise fail(f"{path} is neither YAML nor JSON: {exc}") from None
    if not isinstance(body, dict):
        raise fail(f"{path} must hold a mapping (the {what}), not {type(body).__name__}")
    return body


def read_text_file(path: Path) -> str:
    """A UTF-8 file's text (``-`` is standard input), or a one-line error naming it."""
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise fail(f"cannot read {path}: {reason}") from None


class _JsonishLoader(yaml.SafeLoader):
    """YAML that loads only what JSON can carry: ``2024-05-01`` stays the string the
    user wrote, as the API expects, instead of a date that cannot be sent."""


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, nested mappings merged; None values in extra are skipped
    (and mappings left empty by them), so flags the user did not give leave the file's
    values alone."""
    merged = dict(base)
    for key, value in extra.items():
        if value is None:
            continue
        if isinstance(value, dict):
            below = merged.get(key)
            nested = merge(below if isinstance(below, dict) else {}, value)
            if nested:
                merged[key] = nested
        else:
            merged[key] = value
    return merged


def body_from(file: Path | None, flags: dict[str, Any], needs: Mapping[str, str]) -> dict[str, Any]:
    """A create/update body: the file's, with the flags over it. ``needs`` maps each
    dotted field that must be there in the end to the flag that sets it, so a missing
    one is named both ways."""
    body = merge(load_body(file) or {}, flags)
    missing = [f"{flag} ({field})" for field, flag in needs.items() if pick(body, field) in MISSING]
    if missing:
        raise fail("missing " + ", ".join(missing) + ": give them as flags or in the file (-f)")
    return body


def key_value(items: list[str] | None, what: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a mapping; a malformed one is an error naming it."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"{what} must be KEY=VALUE, not {item!r}")
        result[key] = value
    return result


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise fail(f"{what} is not JSON: {exc}") from None


def run(work: Callable[[], T]) -> T:
    with reported():
        return work()


def secret_from(variable: str, prompt: str) -> str:
    """A secret from its environment variable or a hidden prompt: never from the command
    line, where `ps` and the shell's history would keep it."""
    given = os.environ.get(variable)
    if given:
        return given
    if not sys.stdin.isatty():
        raise fail(f"{variable} is needed without a terminal to ask on")
    answer: str = typer.prompt(prompt, hide_input=True)
    return answer
