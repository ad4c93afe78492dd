"""Log lines for a service: one line per record, for systemd's journal and, with
`vipctl run --log-json`, as JSON for a log shipper.

Under systemd each line on stderr is one journal entry, stamped by journald: the line
drops the timestamp and starts with its syslog priority (`<3>` for an error, sd-daemon(3)
"Log levels"), so that `journalctl -u vipctl -p warning` filters by level; a traceback's
lines carry the priority of their record, so it is not filed as information. JSON lines
(python-json-logger) hold a traceback inside the line, and get the prefix too.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from pythonjsonlogger.json import JsonFormatter

JOURNAL_FORMAT = "%(name)s: %(message)s"
# The JSON fields: time (ISO 8601, UTC), level, logger, message; exc_info with a traceback.
JSON_FIELDS = "%(levelname)s %(name)s %(message)s"
JSON_RENAMED = {"levelname": "level", "name": "logger"}
# syslog(3) priorities of Python's levels.
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
              logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    """Another formatter's lines, each prefixed with the record's syslog priority."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{PRIORITIES.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).splitlines())


def json_formatter() -> logging.Formatter:
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMED, timestamp="time",
                         json_ensure_ascii=False)


def stderr_is_journal(environ: Mapping[str, str] | None = None) -> bool:
    """$JOURNAL_STREAM names the journal's stream as `device:inode`; it is stderr only if
    they match (a child whose stderr was redirected inherits the variable)."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in value.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def format_for_service(*, json: bool) -> None:
    """Give the root logger's stderr handlers JSON lines (`json`) and, if stderr is the
    journal, the priority prefix; otherwise leave logging as it is."""
    journal = stderr_is_journal()
    if not (json or journal):
        return
    formatter = json_formatter() if json else None
    if journal:
        formatter = JournalFormatter(formatter)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
            handler.setFormatter(formatter)
