"""Messages to head office as bytes, whatever text they carry.

An event's detail holds what a device sent, garbage included: a lone surrogate ('\\ud800',
from a payload that was not UTF-8) is a valid Python string that UTF-8 cannot encode, and
pydantic's JSON refuses it (escaped as \\ud800 instead, head office's pydantic would refuse
the message). One such event must not stop the event log from being sent (the MQTT fuzzer
found it doing so): such text goes as its backslash escape, the characters `\\ud800`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def to_json(message: BaseModel) -> bytes:
    try:
        return message.model_dump_json().encode()
    except PydanticSerializationError:
        return json.dumps(_clean(message.model_dump(mode="json")), ensure_ascii=False).encode()
