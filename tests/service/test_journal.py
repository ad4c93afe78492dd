"""Log lines for the journal: the record's syslog priority on each of its lines."""

from __future__ import annotations

import logging
import os
import sys

from controller.service.journal import JournalFormatter, stderr_is_journal


def test_a_traceback_keeps_its_records_priority_on_every_line() -> None:
    try:
        raise ValueError("bad payload")
    except ValueError:
        record = logging.LogRecord("devices.device", logging.ERROR, __file__, 1,
                                   "garbage from %s", ("hall_lights",), sys.exc_info())
    lines = JournalFormatter().format(record).splitlines()
    assert lines[0] == "<3>devices.device: garbage from hall_lights"
    assert lines[-1] == "<3>ValueError: bad payload"
    assert all(line.startswith("<3>") for line in lines)
    warning = logging.LogRecord("x", logging.WARNING, __file__, 1, "late", (), None)
    assert JournalFormatter().format(warning) == "<4>x: late"


def test_journal_stream_counts_only_when_it_is_stderr() -> None:
    st = os.fstat(sys.stderr.fileno())
    assert stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert not stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
    assert not stderr_is_journal({"JOURNAL_STREAM": "nonsense"})
    assert not stderr_is_journal({})
