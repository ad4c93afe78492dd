"""What the staff are told when a device did not do what it was asked: in Chinese (the page's
default) and English, naming the device as the site file names it (VIP室空调, not
vip_room_ac), saying what it was asked and what to do about it.

"command {'power': True, ...} failed after 3 attempts: no matching report within 1 s" is
for the log;
"VIP室空调没有响应（开启、制冷、24°C，已试3次）。请检查设备电源和网络；仍不行请联系工程部。"
is for the front desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# How each attribute's wanted value reads, in Chinese and English.
_WORDS: dict[str, dict[Any, tuple[str, str]]] = {
    "power": {True: ("开启", "on"), False: ("关闭", "off")},
    "mode": {"cool": ("制冷", "cool"), "heat": ("制热", "heat"), "auto": ("自动", "auto"),
             "dry": ("除湿", "dry"), "fan_only": ("送风", "fan"), "off": ("关", "off")},
    "playback": {"playing": ("播放", "play"), "paused": ("暂停", "pause"),
                 "stopped": ("停止", "stop")},
    "loop": {True: ("循环", "loop"), False: ("不循环", "no loop")},
}
# What to do, by why it failed.
_ADVICE = {
    "no_answer": ("{name}没有响应{asked}。请检查设备电源和网络；仍不行请联系工程部。",
                  "{name} did not respond{asked}. Check its power and network; if that does "
                  "not help, call engineering."),
    "refused": ("{name}报告执行失败{asked}。请联系工程部检查设备。",
                "{name} reported a failure{asked}. Call engineering to check it."),
    "unreachable": ("vipctl 连不上{name}{asked}：设备网络或网关中断。请联系工程部。",
                    "vipctl cannot reach {name}{asked}: the device network or gateway is "
                    "down. Call engineering."),
}


@dataclass(frozen=True, slots=True)
class FailureText:
    zh: str
    en: str


def _asked(desired: Mapping[str, Any], attempts: int) -> tuple[str, str]:
    zh: list[str] = []
    en: list[str] = []
    for key, value in desired.items():
        words = _WORDS.get(key, {}).get(value)
        if words is not None:
            zh.append(words[0])
            en.append(words[1])
        elif key == "setpoint":
            zh.append(f"{value:g}°C")
            en.append(f"{value:g} °C")
        elif key == "brightness":
            zh.append(f"亮度{value}%")
            en.append(f"brightness {value}%")
        elif key == "volume":
            zh.append(f"音量{value}")
            en.append(f"volume {value}")
        elif key == "announced":
            zh.append("播报")
            en.append("an announcement")
    tries_zh = f"已试{attempts}次" if attempts else ""
    tries_en = f"{attempts} tries" if attempts else ""
    zh_parts = "、".join(zh)
    en_parts = ", ".join(en)
    zh_inner = "，".join(p for p in (zh_parts, tries_zh) if p)
    en_inner = "; ".join(p for p in (en_parts, tries_en) if p)
    return (f"（{zh_inner}）" if zh_inner else "", f" ({en_inner})" if en_inner else "")


def failure_text(name: str, desired: Mapping[str, Any], attempts: int,
                 problem: str) -> FailureText:
    """The words for a command to device `name` that failed, after `attempts` tries."""
    zh, en = _ADVICE.get(problem, _ADVICE["no_answer"])
    asked_zh, asked_en = _asked(desired, attempts)
    return FailureText(zh.format(name=name, asked=asked_zh), en.format(name=name, asked=asked_en))
