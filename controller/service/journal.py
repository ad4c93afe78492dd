"""Log lines for systemd's journal, when stderr is the journal (sd-daemon(3), "Log levels").

Under systemd each line on stderr is one journal entry, stamped by journald: the line
drops the timestamp and starts with its syslog priority (`<3>` for an error), so that
`journalctl -u vipctl -p warning` filters by level. A traceback's lines carry the
priority of the record they belong to, so it is not filed as information.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

JOURNAL_FORMAT = "%(name)s: %(message)s"
# syslog(3) priorities of Python's levels.
PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
              logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{PRIORITIES.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


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


def log_to_journal() -> None:
    """Give the root logger's stderr handlers the journal's format, if stderr is the
    journal; otherwise leave logging as it is."""
    if not stderr_is_journal():
        return
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
            handler.setFormatter(JournalFormatter())
