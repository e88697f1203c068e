"""Regenerate src/openarts/data/error_codes.tsv from the API reference.

Run from the repository root: ``python tools/gen_error_codes.py [path/to/api-reference]``.
The error-code page is the main source. Some operations (resource pools, networks,
plug-in templates) answer with codes that page does not list but that their own pages
show in example responses, with the status; those are taken from the examples, so the
table covers every code the contract shows. The reference lists a few codes twice with
different statuses; PREFERRED_STATUS says which one OpenArts answers with, and why, so the
choice is made once, here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DEFAULT_REFERENCE = Path("../shared/api-reference")
ERROR_PAGE = Path("common_parameters/error_codes.md")
TARGET = Path("src/openarts/data/error_codes.tsv")

# Codes listed with two statuses in the reference.
PREFERRED_STATUS = {
    "ModelArts.0112": 403,  # a policy refusal is a permission problem, not bad credentials
    "ModelArts.0203": 401,  # an unparseable token is a failed authentication
    "ModelArts.0204": 401,  # a token we cannot parse is a failed authentication
    "ModelArts.0206": 401,  # a malformed Authorization header is a failed authentication
    "ModelArts.0210": 403,  # a project the caller cannot use is a refusal
}


def parse(source: Path) -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].startswith("ModelArts."):
            continue
        status, code, message = int(cells[0]), cells[1], cells[2]
        if code in table and PREFERRED_STATUS.get(code) != status:
            continue
        table[code] = (status, message)
    return table


_EXAMPLE = re.compile(r"\*\*Status code: (\d{3})\*\*[^`]*?```json\s*(\{.*?\})\s*```", re.S)


def parse_examples(reference: Path) -> dict[str, tuple[int, str]]:
    """Codes shown in operations' example error responses: code -> (status, message)."""
    found: dict[str, tuple[int, str]] = {}
    for page in sorted(reference.rglob("*.md")):
        for status, body in _EXAMPLE.findall(page.read_text(encoding="utf-8")):
            try:
                answer = json.loads(body)
            except json.JSONDecodeError:
                continue
            code = answer.get("error_code") if isinstance(answer, dict) else None
            if isinstance(code, str) and code.startswith("ModelArts.") and int(status) >= 400:
                found.setdefault(code, (int(status), str(answer.get("error_msg", ""))))
    return found


def main() -> None:
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REFERENCE
    table = parse(reference / ERROR_PAGE)
    for code, row in parse_examples(reference).items():
        table.setdefault(code, row)
    lines = ["code\tstatus\tmessage"]
    lines += [f"{code}\t{status}\t{msg}" for code, (status, msg) in sorted(table.items())]
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(table)} codes written to {TARGET}")


if __name__ == "__main__":
    main()
