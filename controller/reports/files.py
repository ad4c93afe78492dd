"""Where reports are written, what they are called, and which are the latest.

One folder per site (the site file's `reports: folder:`, by default `reports` beside the
SQLite database: controller/config/site.py), which `vipctl report` writes and the daemon's
API serves. Names say what a report is and are the only names served:
`visit-<id>.<lang>.html`, `month-2026-12.<lang>.html`, `month-2026-12-all.<lang>.html`
(every site of a shared database), each with its `.pdf`.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from controller.reports.words import LANGS

# A report's file name: what the API will serve, and nothing else (no path, no dot-dot).
NAME = re.compile(r"^(?P<stem>(?:visit-[A-Za-z0-9_-]{1,64}|month-\d{4}-\d{2}(?:-all)?)"
                  rf"\.(?:{'|'.join(LANGS)}))\.(?P<ext>html|pdf)$")


@dataclass(frozen=True, slots=True)
class Written:
    html: Path
    pdf: Path | None
    pdf_problem: str | None = None  # why there is no PDF


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    kind: str  # visit or month
    format: str  # html or pdf
    modified: datetime
    size: int


def visit_stem(visit_id: str, lang: str) -> str:
    return f"visit-{visit_id}.{lang}"


def month_stem(month: str, lang: str, *, all_sites: bool) -> str:
    return f"month-{month}{'-all' if all_sites else ''}.{lang}"


def write_atomically(path: Path, data: bytes) -> None:
    """Whole or absent: a reader (the API) never serves half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                     delete=False) as out:
        out.write(data)
        temporary = Path(out.name)
    os.chmod(temporary, 0o644)
    temporary.replace(path)


def listing(folder: Path) -> list[ReportFile]:
    """The reports in `folder`, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        stat = path.stat()
        found.append(ReportFile(
            name=path.name, kind=path.name.split("-", 1)[0], format=match["ext"],
            modified=datetime.fromtimestamp(stat.st_mtime, UTC), size=stat.st_size))
    return sorted(found, key=lambda f: (f.modified, f.name), reverse=True)


def report_path(folder: Path, name: str) -> Path | None:
    """The file a report's name stands for, if it is one and it exists."""
    if NAME.match(name) is None:
        return None
    path = folder / name
    return path if path.is_file() else None
