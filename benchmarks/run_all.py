"""``make bench``: every benchmark in turn, each one's whole output shown as it runs, then
one table of the headline figures they marked (benchmarks/summary.py) and of any that
failed.

    python benchmarks/run_all.py [NAME ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from openarts.testing.bench_summary import MARK

HERE = Path(__file__).parent
# In this order: quick ones first, the long scale run last.
BENCHMARKS = [
    "start",
    "api_overhead",
    "api_vs_moto",
    "workers",
    "storage",
    "scheduler",
    "training_start",
    "images",
    "notebook_start",
    "inference",
    "ray_start",
    "cli_latency",
    "per_test_database",
    "sandbox",
    "first_run",
    "scale",
]


def run(name: str) -> tuple[int, float, list[list[str]]]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(HERE / f"{name}.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    marked = []
    for line in process.stdout:
        sys.stdout.write(line)
        if line.startswith(MARK):
            marked.append(line[len(MARK) :].rstrip("\n").split("\t"))
    return process.wait(), time.monotonic() - started, marked


def main() -> None:
    names = sys.argv[1:] or BENCHMARKS
    rows: list[list[str]] = []
    failed: list[str] = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        code, seconds, marked = run(name)
        if code != 0:
            failed.append(f"{name} (exit {code} after {seconds:.0f} s)")
        rows += [[name, *figure] for figure in marked]
    print("\n=== summary ===")
    header = ["benchmark", "figure", "OpenArts", "anchor", "ratio", "aim"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    if failed:
        print("failed: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
