"""For benchmarks: one line per headline figure, in a form that ``benchmarks/run_all.py``
gathers into the summary table of ``make bench``: what was measured, OpenArts' figure,
its anchor's (taken in the same run), the ratio and the aim."""

from __future__ import annotations

MARK = "SUMMARY\t"


def summary(figure: str, openarts: str, anchor: str, ratio: float | None, aim: str) -> None:
    shown = f"{ratio:.2f}x" if ratio is not None else "-"
    print(MARK + "\t".join((figure, openarts, anchor, shown, aim)), flush=True)
