"""ModelArts' request and response shapes for tabular (ML) models.

Two request shapes are accepted:

- ModelArts ML: ``{"data": {"req_data": [{feature: value, ...}, ...]}, "meta": ...}``,
  answered ``{"meta": ..., "data": {"resp_data": [{"predictresult": value}, ...]}}``
  (``meta`` is echoed only when sent);
- the common ``{"instances": [[...], ...]}``, answered ``{"predictions": [...]}``.

Rows are dicts or lists. Dict rows are put in column order: the model's own feature
names when it knows them, else the request schema's in ``config.json``, else the order of
the first row's keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_EXPECTED = 'expected {"data": {"req_data": [...]}} or {"instances": [...]}'


@dataclass(frozen=True, slots=True)
class TabularRequest:
    rows: list[Any]
    # True for the ``instances`` shape, which is answered with ``predictions``.
    instances: bool
    # The whole request object, for the ``meta`` it may carry.
    body: dict[str, Any]


def read_tabular_request(payload: Any) -> TabularRequest:
    if not isinstance(payload, dict):
        raise ValueError(f"the request body is not a JSON object; {_EXPECTED}")
    data = payload.get("data")
    if isinstance(data, dict) and "req_data" in data:
        rows, instances = data["req_data"], False
    elif "instances" in payload:
        rows, instances = payload["instances"], True
    else:
        raise ValueError(f"the request has no rows; {_EXPECTED}")
    if not isinstance(rows, list):
        raise ValueError(f"the rows must be a JSON array, not {type(rows).__name__}")
    return TabularRequest(rows, instances, payload)


def column_order(rows: list[Any], *preferred: Sequence[str] | None) -> tuple[str, ...] | None:
    """The first of ``preferred`` that is given, else the first dict row's keys."""
    for names in preferred:
        if names:
            return tuple(names)
    if rows and isinstance(rows[0], dict):
        return tuple(rows[0])
    return None


def feature_matrix(rows: list[Any], columns: Sequence[str] | None) -> list[list[Any]]:
    """Rows as lists of values in ``columns`` order; list rows pass through."""
    matrix: list[list[Any]] = []
    for index, row in enumerate(rows):
        if isinstance(row, dict):
            if columns is None:
                raise ValueError("dict rows need column names")
            try:
                matrix.append([row[name] for name in columns])
            except KeyError as exc:
                raise ValueError(f"row {index} has no feature {exc.args[0]!r}") from None
        elif isinstance(row, list):
            matrix.append(row)
        else:
            raise ValueError(f"row {index} is a {type(row).__name__}, not an object or array")
    return matrix


def tabular_response(request: TabularRequest, predictions: Sequence[Any]) -> dict[str, Any]:
    if len(predictions) != len(request.rows):
        raise ValueError(f"the model gave {len(predictions)} results for {len(request.rows)} rows")
    if request.instances:
        return {"predictions": list(predictions)}
    return ml_response(request.body, [{"predictresult": value} for value in predictions])


def ml_response(body: Any, resp_data: Any) -> dict[str, Any]:
    """``resp_data`` wrapped the ModelArts ML way, echoing the request's ``meta``."""
    if isinstance(body, dict) and "meta" in body:
        return {"meta": body["meta"], "data": {"resp_data": resp_data}}
    return {"data": {"resp_data": resp_data}}
