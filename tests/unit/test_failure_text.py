"""A failed command in the staff's words: the device's name from the site file, what it was
asked, what to do; never the technical text the log has."""

from __future__ import annotations

from controller.engine.failure_text import failure_text


def test_no_answer_names_the_device_and_says_what_to_do() -> None:
    text = failure_text("VIP室空调", {"power": True, "mode": "cool", "setpoint": 24.0}, 3,
                        "no_answer")
    assert text.zh == ("VIP室空调没有响应（开启、制冷、24°C，已试3次）。"
                       "请检查设备电源和网络；仍不行请联系工程部。")
    assert text.en == ("VIP室空调 did not respond (on, cool, 24 °C; 3 tries). Check its power "
                       "and network; if that does not help, call engineering.")


def test_each_problem_has_its_own_advice() -> None:
    refused = failure_text("VIP室宣传片", {"playback": "playing", "loop": True}, 1, "refused")
    assert refused.zh == "VIP室宣传片报告执行失败（播放、循环，已试1次）。请联系工程部检查设备。"
    gone = failure_text("模型区灯光", {"power": False, "brightness": 40}, 2, "unreachable")
    assert gone.zh == ("vipctl 连不上模型区灯光（关闭、亮度40%，已试2次）：设备网络或网关中断。"
                       "请联系工程部。")
    # An unknown code reads as no answer; unknown attributes are left out, not invented.
    odd = failure_text("背景音乐", {"media": "media/music", "volume": 30}, 0, "???")
    assert odd.zh == "背景音乐没有响应（音量30）。请检查设备电源和网络；仍不行请联系工程部。"
