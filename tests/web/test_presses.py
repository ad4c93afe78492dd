"""One press, one action: the guard's button and the concierge's page go the same way
(Engine.trigger), and a second press while the first runs, or for a step already done, does
nothing and says why, in the event log the page shows."""

from __future__ import annotations

import asyncio

from controller.engine.presses import PressGate
from tests.api.harness import ApiSite
from tests.waiting import always, eventually

ARRIVAL = "王先生已到访,请各岗位做好接待工作"


def triggers(site: ApiSite) -> list[tuple[str | None, str | None, str]]:
    return [(e.source, e.result, e.detail.get("message", "")) for e in reversed(
        site.rig.daemon.events.query(kinds=["trigger"]))]


async def test_button_and_page_pressed_together_act_once(site: ApiSite) -> None:
    # A guest a little early (5.5 s at x600: before T-45, within the hour when one press
    # does): the arrival starts the whole preparation with the welcome. The guard's button
    # is pressed while the page's press is still being answered.
    await site.rig.book(in_seconds=5.5)
    button = site.rig.sims["concierge_button"]
    page = asyncio.create_task(site.client.post(
        "/triggers/arrival", headers={"X-Vipctl-Source": "app"}))
    await button.press("single")  # type: ignore[attr-defined]
    answer = (await page).json()
    assert answer["accepted"] is True

    await eventually(lambda: len(triggers(site)) == 2)
    by_source = {source: (result, message) for source, result, message in triggers(site)}
    assert by_source["app"][0] == "ok"
    result, message = by_source["button:concierge_button"]
    assert result == "ignored"
    # While the page's press runs, just after it, or once the arrival is recorded: whichever
    # moment the button's press lands in, it is told why, and nothing is done twice.
    told = ("arrival is already being carried out (pressed ", "arrival was just pressed (",
            "arrival for 王先生 was already done")
    assert message.startswith(told), message
    await eventually(lambda: ARRIVAL in site.rig.said())
    await always(lambda: site.rig.said().count(ARRIVAL) == 1)  # and never a second time

    # Afterwards, the step is done: the page's button says so, and a press says the same.
    buttons = {b["trigger"]: b for b in (await site.client.get("/triggers")).json()}
    assert buttons["arrival"]["available"] is False
    assert buttons["arrival"]["code"] == "done" and buttons["arrival"]["guest"] == "王先生"
    assert buttons["show-flat"]["available"] is True
    assert buttons["vip-now"]["available"] is False and buttons["vip-now"]["code"] == "busy"
    again = (await site.client.post("/triggers/arrival")).json()
    assert again["accepted"] is False and "already done" in again["message"]


async def test_buttons_before_any_visit(site: ApiSite) -> None:
    buttons = {b["trigger"]: b for b in (await site.client.get("/triggers")).json()}
    assert [buttons[n]["code"] for n in ("arrival", "show-flat", "departure")] == [
        "no_visit"] * 3
    assert buttons["vip-now"]["available"] is True


def test_the_gate_covers_the_press_in_progress_and_a_short_window() -> None:
    now = [0.0]
    gate = PressGate(window=3.0, clock=lambda: now[0])
    assert gate.refusal("arrival", "v-1") is None
    gate.begin("arrival", "v-1", "button:guard")
    now[0] = 10.0  # still running: a slow preparation
    assert "already being carried out" in (gate.refusal("arrival", "v-1") or "")
    assert gate.refusal("arrival", "v-2") is None  # another visit's arrival is its own
    assert gate.refusal("departure", "v-1") is None
    gate.end("arrival", "v-1")
    now[0] = 12.9
    assert "was just pressed (12.9 s ago from button:guard)" in (gate.refusal("arrival", "v-1")
                                                                  or "")
    now[0] = 13.1
    assert gate.refusal("arrival", "v-1") is None
