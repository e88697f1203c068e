"""How the CLI prints: rich tables for people (the default), JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# A column: its header and how to get its text from a row (a dotted path or a function).
Column = tuple[str, str | Callable[[dict[str, Any]], Any]]

# Piped output is not cut to 80 columns: lines stay whole for grep and for logs.
# Markup is off: names, messages and logs from the server are printed as they are (a
# "[/data]" in them must neither vanish nor crash the command).
out = Console(
    highlight=False, soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 200
)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def error_line(message: str) -> Text:
    """``error: <message>``, the label in red where the terminal has colour."""
    return Text.assemble(("error:", "red"), f" {message}")


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def pick(row: Any, path: str) -> Any:
    """``a.b.0.c`` from nested dicts and lists; None where any step is missing."""
    value = row
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif (
            isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return None
    return value


def when(epoch_ms: Any) -> str:
    """Epoch milliseconds as local time to the second; '' where absent."""
    if not isinstance(epoch_ms, int | float) or epoch_ms <= 0:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _total(data: Any) -> int | None:
    """How many there are in all, where the answer says (a page holds fewer)."""
    if isinstance(data, dict):
        for key in ("total", "total_count"):
            if isinstance(data.get(key), int):
                return int(data[key])
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass
class Printer:
    format: OutputFormat = OutputFormat.TABLE

    @property
    def json(self) -> bool:
        return self.format is OutputFormat.JSON

    def dump(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def rows(self, data: Any, rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
        """A list: the whole answer as JSON, or the rows as a table."""
        if self.json:
            self.dump(data)
            return
        table = Table(show_edge=False, pad_edge=False, header_style="bold")
        for header, _ in columns:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(
                *(
                    _text(getter(row) if callable(getter) else pick(row, getter))
                    for _, getter in columns
                )
            )
        out.print(table)
        if not rows:
            out.print("(none)")
        total = _total(data)
        if total is not None and total > len(rows):
            # On stderr: the table stays whole for a pipe, and the cut is never silent.
            err.print(f"showing {len(rows)} of {total}: use --offset and --limit for the rest")

    def item(self, data: Any, columns: Sequence[Column] | None = None) -> None:
        """One resource: JSON, or its fields as a two-column table (the named ones, else
        every top-level field). A named field the answer does not have (None) is left
        out: a failure or a waiting reason appears only where there is one."""
        if self.json or not isinstance(data, dict):
            self.dump(data)
            return
        pairs = (
            [
                (header, getter(data) if callable(getter) else pick(data, getter))
                for header, getter in columns
            ]
            if columns
            else list(data.items())
        )
        table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for key, value in pairs:
            if value is not None:
                table.add_row(str(key), _text(value))
        out.print(table)

    def done(self, message: str, data: Any = None) -> None:
        """An action's result: its answer as JSON, or one line for people."""
        if self.json:
            self.dump(data if data is not None else {"result": message})
        else:
            out.print(message)
