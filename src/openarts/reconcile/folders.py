"""The folders the loops keep per resource (a job's, a model's, an instance's, a
replica's), listed to find those whose resource is gone."""

from __future__ import annotations

from pathlib import Path


def subfolders(root: Path) -> list[str]:
    """The names of the folders directly in ``root``; none when it does not exist."""
    try:
        return [entry.name for entry in root.iterdir() if entry.is_dir()]
    except FileNotFoundError:
        return []
