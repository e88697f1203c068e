"""Kubernetes-style label selectors (``a=b,c!=d,e,!f``) over string labels.

A label value may hold several comma-separated values (the ``os.modelarts/scope`` label
lists every use of a flavor); ``key=value`` matches when value is one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,252}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.\-]{0,63}$")


class LabelSelectorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "exists", "!exists"
    value: str = ""

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        values = labels.get(self.key, "").split(",") if present else []
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator == "=":
            return self.value in values
        return self.value not in values


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def parse_label_selector(text: str) -> LabelSelector:
    requirements = []
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        if "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            requirement = Requirement(key, "!=", value)
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=", 1).split("=", 1))
            requirement = Requirement(key, "=", value)
        elif part.startswith("!"):
            requirement = Requirement(part[1:].strip(), "!exists")
        else:
            requirement = Requirement(part, "exists")
        if not _KEY.fullmatch(requirement.key):
            raise LabelSelectorError(f"{requirement.key!r} is not a valid label key")
        if not _VALUE.fullmatch(requirement.value):
            raise LabelSelectorError(f"{requirement.value!r} is not a valid label value")
        requirements.append(requirement)
    return LabelSelector(tuple(requirements))
