"""What every command shares: `-o/--output` after the command's name as well as before the
family (the command's own flag wins), and `--help` that fits an 80-column terminal with
every option's name whole and sentences wrapped only where a line is full."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import typer.main

from openarts.cli.main import app
from openarts.testing.cli_runner import CliRunner
from tests.cli.conftest import Cli

pytestmark = pytest.mark.e2e

WIDTH = 80
BORDERS = "│╭╮╰╯─"


def _commands() -> Iterator[tuple[list[str], Any]]:
    """Every command and family of `openarts`, as a path of names and its Click object."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, below in getattr(command, "commands", {}).items():
            yield from walk(below, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _help(runner: CliRunner, path: list[str]) -> str:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("OPENARTS")
    }
    done = runner.run([*path, "--help"], env={**environment, "COLUMNS": str(WIDTH)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fits(line: str, room: int, following: str) -> bool:
    """Whether the next line's first word would have fit on ``line`` (of ``room``)."""
    said = line.rstrip()
    return bool(said and following.split()) and len(said) + 1 + len(following.split()[0]) <= room


def _premature_breaks(text: str) -> list[str]:
    """Lines of a wrapped paragraph that end although the next line's first word would
    have fit on them: a sentence cut in the middle. Read from the prose under the usage
    line and from the commands panel (a description goes on where the name is blank)."""
    found: list[str] = []
    lines = text.splitlines()
    prose = lines[: next((n for n, line in enumerate(lines) if line.startswith("╭")), len(lines))]
    for first, second in pairwise(prose):
        if "Usage:" not in first and _fits(first, WIDTH - 1, second):
            found.append(first)
    inside = False
    for first, second in pairwise(lines):
        inside = (inside or first.startswith("╭─ Commands")) and not first.startswith("╰")
        if not (inside and first.startswith("│") and second.startswith("│")):
            continue
        right = first.rfind("│")
        following = second[1 : second.rfind("│")]
        start = len(following) - len(following.lstrip())
        # A new row starts one space in; a description goes on past the blank name.
        if start > 1 and _fits(first[1 + start : right], right - 2 - start, following):
            found.append(first)
    return found


def test_every_help_fits_80_columns_with_every_option_whole(cli_runner: CliRunner) -> None:
    problems: list[str] = []
    for path, command in _commands():
        text = _help(cli_runner, path)
        shown = " ".join(["openarts", *path])
        names = [
            name
            for param in command.params
            if not getattr(param, "hidden", False)
            for name in [*param.opts, *param.secondary_opts]
            if name.startswith("-")
        ]
        for name in names:
            if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                problems.append(f"{shown}: {name} is not whole in --help")
        problems += [
            f"{shown}: wider than {WIDTH}: {line!r}"
            for line in text.splitlines()
            if len(line) > WIDTH
        ]
        problems += [f"{shown}: cut mid-sentence: {line!r}" for line in _premature_breaks(text)]
    assert not problems, "\n".join(problems)


def test_every_command_and_family_takes_output(cli_runner: CliRunner) -> None:
    for path, command in _commands():
        if not path:
            continue
        names = {name for param in command.params for name in param.opts}
        assert {"--output", "-o"} <= names, " ".join(path)
    assert "-o" in _help(cli_runner, ["job", "list"])


def test_output_after_the_command_wins_over_the_global_one(cli: Cli) -> None:
    after = json.loads(cli.ok("job", "list", "-o", "json"))
    assert after["items"] == [] or isinstance(after["items"], list)
    assert "items" in json.loads(cli.ok("job", "list", "--output", "json"))
    assert "data" in json.loads(cli.ok("notebook", "list", "-o", "json"))
    # Before the family, on the family, and after the command: the nearest one wins.
    assert "items" in json.loads(cli.ok("-o", "json", "job", "list"))
    assert "items" in json.loads(cli.ok("job", "-o", "json", "list"))
    table = cli.ok("-o", "json", "job", "list", "-o", "table")
    assert table.lstrip().startswith("ID") and "STATUS" in table
    from_environment = cli.ok("job", "list", "-o", "table", env={"OPENARTS_OUTPUT": "json"})
    assert from_environment.lstrip().startswith("ID")
    assert "items" in json.loads(cli.ok("job", "list", env={"OPENARTS_OUTPUT": "json"}))
    # Every family, the administrators' too.
    projects = json.loads(cli.ok("projects", "list", "-o", "json"))
    assert "default" in [project["name"] for project in projects]
    engines = json.loads(cli.ok("job", "engines", "-o", "json"))
    assert engines["items"]
    wrong = cli.run("job", "list", "-o", "yaml")
    assert wrong.returncode == 2 and "yaml" in wrong.stderr


@pytest.mark.parametrize(
    "command",
    [["service", "wait", ""], ["job", "show", ""], ["notebook", "stop", ""]],
)
def test_an_empty_id_is_refused_before_any_call(cli_runner: CliRunner, command: list[str]) -> None:
    # "$ID" unset in a script: the empty segment would lead to another route (the list).
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENARTS_")}
    done = cli_runner.run(
        ["--endpoint", "http://127.0.0.1:9", "--project-id", "0" * 32, *command],
        env={**environment, "OPENARTS_AK": "AK", "OPENARTS_SK": "SK"},
    )
    assert done.returncode == 1
    assert "an ID is empty" in done.stderr and "Traceback" not in done.stderr
