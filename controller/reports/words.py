"""The reports' words, in Chinese (the default: the quality department reads Chinese) and in
English (`--lang en`). Step descriptions, announcement texts and guest names are data and
are shown as recorded."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("zh", "en")

_WORDS: dict[str, tuple[str, str]] = {
    # titles and sections
    "visit_title": ("VIP接待报告", "VIP visit report"),
    "month_title": ("品质月报", "Monthly quality report"),
    "all_sites": ("全部案场", "every site"),
    "site": ("案场", "Site"),
    "guest": ("贵宾", "Guest"),
    "booked_for": ("预约时间", "Booked for"),
    "status": ("状态", "Status"),
    "history": ("状态变化", "Status changes"),
    "steps": ("流程步骤", "Steps of the procedure"),
    "announcements": ("广播", "Announcements"),
    "presses": ("按键", "Presses"),
    "walk_ins": ("接待期间的来访客户", "Walk-ins during the visit"),
    "preflight": ("设备预检", "Preflight"),
    "failures": ("设备故障", "Device failures"),
    "outcomes": ("接待结果", "Visits by outcome"),
    "by_site": ("各案场", "By site"),
    "on_time": ("各步骤准时率", "On-time rate per step"),
    "confirmation": ("设备确认率", "Confirmation rate"),
    "devices": ("设备故障排名", "Devices ranked by failures"),
    "failed_announcements": ("未播出的广播", "Announcements that failed"),
    "callbacks": ("待回访客户", "Callbacks waiting"),
    "weekly": ("每周接待", "Visits per week"),
    "lateness_chart": ("各步骤延迟(秒)", "Lateness per step (s)"),
    "failures_chart": ("各设备故障次数", "Failures per device"),
    "generated": ("生成时间", "Generated"),
    "none": ("无", "none"),
    # columns
    "step": ("步骤", "Step"),
    "description": ("说明", "Description"),
    "due": ("应执行", "Due"),
    "started": ("开始", "Started"),
    "done": ("完成", "Done"),
    "late": ("延迟", "Late"),
    "result": ("结果", "Result"),
    "text": ("内容", "Text"),
    "queued": ("排队", "Queued"),
    "played_at": ("播出", "Ended"),
    "reason": ("原因", "Reason"),
    "run_until": ("有效至", "worth saying until"),
    "at": ("时间", "At"),
    "trigger": ("触发", "Trigger"),
    "who": ("操作者", "Who"),
    "device": ("设备", "Device"),
    "problem": ("问题", "Problem"),
    "count": ("次数", "Count"),
    "visits": ("接待", "Visits"),
    "ran": ("执行", "Ran"),
    "missed": ("错过", "Missed"),
    "rate": ("准时率", "On time"),
    "mean_late": ("平均延迟", "Mean late"),
    "max_late": ("最大延迟", "Max late"),
    "preflight_problems": ("预检问题", "Preflight problems"),
    "week_of": ("周(起)", "Week of"),
    "walk_in_no": ("编号", "No."),
    "runs": ("次预检", "runs"),
    "with_problems": ("次有问题", "with problems"),
    "recorded_walk_ins": ("位来访客户,其中接待期间", "walk-ins recorded, during visits"),
    "confirmed_of": ("条指令经设备确认,共", "commands confirmed by the device, of"),
    # values
    "done_status": ("已完成", "done"),
    "booked": ("已预约", "booked"),
    "preparing": ("准备中", "preparing"),
    "arrived": ("已到访", "arrived"),
    "at_show_flat": ("参观样板房", "at the show flat"),
    "departing": ("离场中", "leaving"),
    "no_show": ("未到访", "no-show"),
    "cancelled": ("已取消", "cancelled"),
    "open": ("未结束", "not over"),
    "ok": ("确认", "confirmed"),
    "failed": ("失败", "failed"),
    "skipped": ("跳过", "skipped"),
    "skipped-late": ("过时跳过", "skipped, stale"),
    "unfinished": ("未完成", "unfinished"),
    "played": ("已播出", "played"),
    "expired": ("过时未播", "expired"),
    "taken": ("已执行", "taken"),
    "ignored": ("已忽略", "ignored"),
    "problem_result": ("有问题", "problem"),
    "cleared": ("已排除", "cleared"),
    "ok_preflight": ("正常", "ok"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}

# Values as recorded → the key of their words.
_VALUES = {"done": "done_status", "problem": "problem_result"}


def words(lang: str) -> Callable[[str], str]:
    """`t(key)` in `lang`; an unknown key is shown as itself (a value nobody translated)."""
    index = LANGS.index(lang)

    def t(key: str) -> str:
        found = _WORDS.get(_VALUES.get(key, key))
        return found[index] if found else key

    return t
