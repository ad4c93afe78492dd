"""GET /reports: the reports `vipctl report` wrote into the site's reports folder, newest
first; GET /reports/latest: the newest one's HTML; GET /reports/{name}: one of them. Any
credential with the viewer role or better (docs/reports.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel

from controller.api.deps import CallerDep, DaemonDep
from controller.daemon import Daemon
from controller.reports.files import listing, report_path

router = APIRouter(tags=["reports"])

MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


class ReportOut(BaseModel):
    name: str
    kind: Literal["visit", "month"]
    format: Literal["html", "pdf"]
    modified: datetime
    size: int
    url: str


class ReportsOut(BaseModel):
    reports: list[ReportOut]


def _folder(daemon: Daemon) -> Path:
    folder = daemon.site.reports.folder
    assert folder is not None  # filled in when the site file is loaded
    return folder


@router.get("/reports", response_model=ReportsOut)
async def reports(daemon: DaemonDep, caller: CallerDep) -> ReportsOut:
    """The reports written, newest first (`vipctl report visit ID`, `vipctl report month
    2026-12`)."""
    found = await asyncio.to_thread(listing, _folder(daemon))
    return ReportsOut(reports=[ReportOut(
        name=f.name, kind="visit" if f.kind == "visit" else "month",
        format="pdf" if f.format == "pdf" else "html",
        modified=f.modified.astimezone(daemon.tz), size=f.size, url=f"/reports/{f.name}")
        for f in found])


@router.get("/reports/latest", response_class=RedirectResponse, status_code=307,
            responses={404: {"description": "no report has been written yet"}})
async def latest(daemon: DaemonDep, caller: CallerDep) -> RedirectResponse:
    """The newest report's HTML (the concierge page links here)."""
    found = await asyncio.to_thread(listing, _folder(daemon))
    newest = next((f for f in found if f.format == "html"), None)
    if newest is None:
        raise HTTPException(404, "no report has been written yet: `vipctl report visit ID` "
                                 "or `vipctl report month 2026-12` writes one")
    return RedirectResponse(f"/reports/{newest.name}", status_code=307)


@router.get("/reports/{name}", response_class=FileResponse,
            responses={200: {"content": {v: {} for v in MEDIA_TYPES.values()}},
                       404: {"description": "no such report"}})
async def report(name: str, daemon: DaemonDep, caller: CallerDep) -> FileResponse:
    """One report, by the name GET /reports gives (e.g. `month-2026-12.zh.pdf`)."""
    path = await asyncio.to_thread(report_path, _folder(daemon), name)
    if path is None:
        raise HTTPException(404, f"no report {name[:80]!r} (GET /reports lists them)")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix.lstrip(".")])
