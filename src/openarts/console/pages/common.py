"""What every page module uses: the layout with the project switcher, and form helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from openarts.console import live
from openarts.console.api_client import ApiError, ConsoleApi
from openarts.console.cookie import Session
from openarts.console.errors import FormError
from openarts.console.rendering import render_page
from openarts.console.session import projects_of


async def page(
    request: Request,
    session: Session,
    api: ConsoleApi,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A full page in the layout (navigation, project switcher, sign-out)."""
    projects = await projects_of(api)
    return render_page(
        request, session, template, projects=projects, status_code=status_code, **context
    )


@dataclass(frozen=True)
class ListPage:
    """A resource's list page: its rows (with any other parts the live stream
    refreshes) above the form that makes a new one, shown empty or as it was sent with
    what was wrong."""

    template: str
    title: str
    # What the form offers to choose from (images, flavors, ...).
    choices: Callable[[ConsoleApi], Awaitable[dict[str, Any]]]
    blank: Mapping[str, str] = field(default_factory=dict)

    async def show(
        self,
        request: Request,
        session: Session,
        api: ConsoleApi,
        rows: live.Produce,
        *,
        form: dict[str, str] | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        update = await rows(api)
        return await page(
            request,
            session,
            api,
            self.template,
            title=self.title,
            # Its rows, and any other live part the page shows.
            **update.parts,
            form=form or dict(self.blank),
            status_code=status_code,
            **context,
            **await self.choices(api),
        )


def form_failure(
    error: ApiError | FormError,
) -> tuple[dict[str, Any], int]:
    """The context and status of a create form shown again after it failed: the API's
    error with the API's own status, or the field's error with 400."""
    if isinstance(error, FormError):
        return {"field_errors": {error.field: error.message}}, 400
    return {"error": error}, error.status if error.status >= 400 else 502


def items(answer: Any, *keys: str) -> list[dict[str, Any]]:
    """The list in an answer, under the first of ``keys`` it has."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):
        for key in keys:
            if isinstance(answer.get(key), list):
                return list(answer[key])
    return []


def total(answer: Any, key: str, shown: list[Any]) -> int:
    """How many there are in all (a list answer is capped by its limit; its total is
    not), or the list's length when the answer has no total."""
    if isinstance(answer, dict) and isinstance(answer.get(key), int):
        return int(answer[key])
    return len(shown)


def number(
    form: dict[str, str], name: str, *, default: int | None = None, minimum: int = 1
) -> int | None:
    """A whole number field; ``default`` only when it was left empty."""
    text = form.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise FormError(name, f"“{text}” is not a whole number.") from None
    if value < minimum:
        raise FormError(name, f"{value} is too small: at least {minimum}.")
    return value


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def pairs(form: dict[str, str], name: str) -> list[tuple[str, str]]:
    """``name=value`` lines (hyperparameters, tags); a line that is not one is an error,
    not dropped."""
    found = []
    for line in lines(form.get(name, "")):
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise FormError(name, f"“{line}” is not name=value.")
        found.append((key.strip(), value.strip()))
    return found


def filtered_rows(
    status: str, known: Collection[str], what: str, rows: Callable[[ConsoleApi], Awaitable[str]]
) -> live.Produce:
    """A list's live rows, filtered by the API; a ``status`` it cannot have (asked by
    URL) is answered in words rather than passed on as a filter."""
    if status and status not in known:
        raise ApiError(400, "Console.0400", f"There is no {what} {status!r}.")

    async def produce(api: ConsoleApi) -> live.Update:
        return live.Update({"rows": await rows(api)})

    return produce
