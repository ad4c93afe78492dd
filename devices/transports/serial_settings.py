"""A serial port's settings, with the defaults the site file falls back to."""

from __future__ import annotations

from dataclasses import dataclass

# Defaults of a port's settings; the site file's serial_ports entries fall back to these.
# 9600 8N1 is the factory setting of CoolMasterNet's RS-232 port and Intesis' Modbus RTU port.
DEFAULT_BAUDRATE = 9600
# Seconds a unit has to answer one request: CoolMasterNet answers in tens of milliseconds,
# a Modbus RTU slave at 9600 baud within ~50 ms; one second leaves room for a busy gateway.
DEFAULT_REPLY_TIMEOUT_S = 1.0
# Devices that never push (CoolMaster, Modbus) are asked for their state this often.
DEFAULT_POLL_INTERVAL_S = 10.0
# How often a framing's refresh (the whole DMX universe) is written again.
DEFAULT_REFRESH_INTERVAL_S = 1.0
# A unit is reported unavailable after this many requests in a row went unanswered.
DEFAULT_SILENT_AFTER = 3
# Reopen backoff: full jitter between half and all of an exponentially growing delay.
REOPEN_MIN_S = 0.2
REOPEN_MAX_S = 10.0


@dataclass(frozen=True, slots=True)
class SerialSettings:
    url: str  # /dev/ttyUSB0, /dev/serial/by-id/..., socket://host:port, loop:// (tests)
    baudrate: int = DEFAULT_BAUDRATE
    bytesize: int = 8
    parity: str = "N"  # N, E, O, M, S
    stopbits: float = 1
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S
    poll_interval: float = DEFAULT_POLL_INTERVAL_S
    refresh_interval: float = DEFAULT_REFRESH_INTERVAL_S
    silent_after: int = DEFAULT_SILENT_AFTER
    reopen_min: float = REOPEN_MIN_S
    reopen_max: float = REOPEN_MAX_S
