"""Log lines for a service: the record's syslog priority on each of its lines; JSON."""

from __future__ import annotations

import json
import logging
import os
import sys

from controller.service.logs import JournalFormatter, json_formatter, stderr_is_journal


def failed(message: str, *args: object) -> logging.LogRecord:
    """An error record with a traceback, as `log.exception` makes."""
    try:
        raise ValueError("bad payload")
    except ValueError:
        return logging.LogRecord("devices.device", logging.ERROR, __file__, 1, message, args,
                                 sys.exc_info())


def test_a_traceback_keeps_its_records_priority_on_every_line() -> None:
    record = failed("garbage from %s", "hall_lights")
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


def test_json_lines_hold_the_traceback_and_take_the_prefix() -> None:
    record = failed("%s已到访", "王先生")
    [line] = JournalFormatter(json_formatter()).format(record).splitlines()
    assert line.startswith("<3>{")
    entry = json.loads(line.removeprefix("<3>"))
    assert {k: entry[k] for k in ("level", "logger", "message")} == {
        "level": "ERROR", "logger": "devices.device", "message": "王先生已到访"}
    assert entry["exc_info"].endswith("ValueError: bad payload")
    assert entry["time"].endswith("+00:00")
