"""What code written for ModelArts imports beyond its engine's packages, put on every
task's path (``PYTHONPATH``): ``moxing``. Standard library only: a task's engine may hold
nothing of the server's packages."""

from pathlib import Path

# The folder tasks get on their path (its packages import as top-level ones).
COMPAT_PATH = str(Path(__file__).resolve().parent)
