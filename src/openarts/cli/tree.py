"""What every command of the tree Typer builds shares, added in one place as the tree is
built: `-o/--output` after the command's own name (`openarts job list -o json`) as well as
before the family (`openarts -o json job list`), and help that reflows to the terminal."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import typer
import typer.main
from typer.core import TyperGroup

from openarts.cli.common import PRINTER_KEY
from openarts.cli.output import OutputFormat, Printer

# Markdown joins a docstring's lines into paragraphs that fit the terminal; Typer's
# "rich" mode keeps each source line break, which cuts sentences in the middle.
HELP_MARKUP: Final[Literal["markdown"]] = "markdown"


def _chosen(ctx: typer.Context, value: OutputFormat | None) -> OutputFormat | None:
    # The command's options are read after the root callback has made the printer from
    # the global flag (or OPENARTS_OUTPUT): a flag given here replaces it, so it wins.
    if value is not None:
        ctx.meta[PRINTER_KEY] = Printer(value)
    return value


OutputFlag = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="table or json (default: the global -o, else OPENARTS_OUTPUT, else table).",
        callback=_chosen,
        expose_value=False,
        show_default=False,
    ),
]


def _carrier(output_format: OutputFlag = None) -> None:
    """Only here so that Typer builds the option as it builds every other one."""


def _output_option() -> Any:
    carrier = typer.Typer(add_completion=False)
    carrier.command()(_carrier)
    return typer.main.get_command(carrier).params[0]


OUTPUT_OPTION = _output_option()


def _share(command: Any) -> None:
    command.rich_markup_mode = HELP_MARKUP
    if not any("--output" in param.opts for param in command.params):
        # One option object serves every command: Click keeps the values it parses in
        # each command's context, never in the option.
        command.params.append(OUTPUT_OPTION)
    for below in getattr(command, "commands", {}).values():
        _share(below)


class OpenArtsGroup(TyperGroup):
    """The root `openarts` group: it gives each command and family below it (built
    before it, by Typer) the shared option and help markup."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rich_markup_mode = HELP_MARKUP
        for command in self.commands.values():
            _share(command)
