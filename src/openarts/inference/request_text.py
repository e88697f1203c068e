"""The JSON text an ML service receives, which also answers dict-style lookups.

The official scikit-learn and XGBoost samples call ``json.loads(data)`` in
``_preprocess``, so the runtime hands them the request's text; code written from the
prose of the documentation, which says a JSON body arrives parsed, indexes
``data["data"]["req_data"]`` instead. This ``str`` serves both: it is the text for
``json.loads`` and string use, and a string key looks the parsed body up.
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, ValuesView
from typing import Any, SupportsIndex, overload


class RequestText(str):
    parsed: Any

    def __new__(cls, text: str, parsed: Any) -> RequestText:
        instance = super().__new__(cls, text)
        instance.parsed = parsed
        return instance

    @overload
    def __getitem__(self, key: SupportsIndex | slice) -> str: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        if isinstance(key, str):
            return self._mapping()[key]
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._mapping().get(key, default)

    def keys(self) -> KeysView[str]:
        return self._mapping().keys()

    def values(self) -> ValuesView[Any]:
        return self._mapping().values()

    def items(self) -> ItemsView[str, Any]:
        return self._mapping().items()

    def _mapping(self) -> dict[str, Any]:
        if not isinstance(self.parsed, dict):
            raise TypeError(
                f"the request body is a JSON {type(self.parsed).__name__}, not an object"
            )
        return self.parsed
