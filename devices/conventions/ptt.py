"""A push-to-talk line on a serial port, as a site file names it.

    ptt:
      serial: {url: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0, line: rts}

Many radio interfaces key the transmitter with the RTS or DTR line of a USB-serial adapter;
devices/transports/serial_ptt.py drives it. The timings (lead-in, tail, maximum transmit
time) belong to whoever keys the radio and are given alongside.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SerialPttLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)  # a device path (pttloop://NAME in tests)
    line: Literal["rts", "dtr"] = "rts"

    @field_validator("url")
    @classmethod
    def _control_lines(cls, value: str) -> str:
        if value.startswith("socket://"):
            raise ValueError("a raw TCP port has no RTS or DTR; give the adapter's device path")
        return value
