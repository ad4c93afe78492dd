"""Push-to-talk on a serial control line is never left keyed.

The radio's side is a `pttloop://` port (simulators/ptt.py): it records every level the
driver applies to RTS and DTR from the moment the port opens, as a radio's PTT input sees it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import tty

import pytest
import serial

from devices.conventions.ptt import SerialPttLine
from devices.transports.serial_ptt import PttLineUnsupported, PttUnavailable, SerialPushToTalk
from simulators.ptt import PttLineObserver
from tests.waiting import eventually

LEAD_IN, TAIL = 0.05, 0.05
# How long a transmission's block lasts in these tests. Not a settle: the block's length is
# what the lead-in, the tail and the watchdog are measured against.
BLOCK_S = 0.1


def make_ptt(observer: PttLineObserver, *, max_transmit: float = 5.0) -> SerialPushToTalk:
    return SerialPushToTalk(url=observer.url, line=observer.line,  # type: ignore[arg-type]
                            lead_in=LEAD_IN, tail=TAIL, max_transmit=max_transmit)


def test_plain_pyserial_raises_rts_and_dtr_on_open() -> None:
    """Why the lines are set low before open(): pyserial's default keys the radio."""
    rts, dtr = PttLineObserver("rts"), PttLineObserver("dtr", name="plain-dtr")
    serial.serial_for_url(rts.url).close()
    serial.serial_for_url(dtr.url).close()
    assert rts.levels()[0][1] is True
    assert dtr.levels()[0][1] is True


@pytest.mark.parametrize("line", ["rts", "dtr"])
async def test_lines_are_low_from_before_the_port_opens(line: str) -> None:
    radio = PttLineObserver(line)
    other = PttLineObserver("dtr" if line == "rts" else "rts", name=radio.name)
    ptt = make_ptt(radio)
    await ptt.start()
    try:
        assert radio.levels(), "the port applied no level at open"
        assert not radio.ever_keyed()
        assert not other.ever_keyed()  # the other line is held low too
        async with ptt.keyed():
            assert radio.keyed
            assert not other.keyed
        assert not radio.keyed
    finally:
        await ptt.close()


async def test_lead_in_and_tail_surround_the_block() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio)
    await ptt.start()
    entered = exited = 0.0
    async with ptt.keyed():
        entered = time.monotonic()
        await asyncio.sleep(BLOCK_S)
        exited = time.monotonic()
    [(keyed_at, held)] = radio.transmissions()
    assert entered - keyed_at >= LEAD_IN  # the first syllable is not clipped
    assert keyed_at + held - exited >= TAIL  # nor the last
    assert held < LEAD_IN + BLOCK_S + TAIL + 0.5
    await ptt.close()


async def test_an_exception_in_the_block_unkeys_at_once() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio)
    await ptt.start()
    with pytest.raises(RuntimeError, match="speaker died"):
        async with ptt.keyed():
            raise RuntimeError("speaker died")
    assert not radio.keyed
    assert not ptt.is_keyed
    assert len(radio.transmissions()) == 1
    await ptt.close()


@pytest.mark.parametrize("where", ["lead-in", "block", "tail"])
async def test_cancellation_unkeys(where: str) -> None:
    radio = PttLineObserver()
    ptt = SerialPushToTalk(url=radio.url, lead_in=0.3 if where == "lead-in" else LEAD_IN,
                           tail=0.3 if where == "tail" else TAIL, max_transmit=5.0)
    await ptt.start()
    in_block = asyncio.Event()

    async def speak() -> None:
        async with ptt.keyed():
            in_block.set()
            if where == "block":
                await asyncio.sleep(10)  # a block that would run on: it is cancelled

    task = asyncio.create_task(speak())
    if where == "lead-in":
        await eventually(lambda: radio.keyed)
        assert not in_block.is_set()  # keyed, in the 0.3 s lead-in
    else:
        # Set as the block starts; by the time this wakes the task waits in the block
        # (a 10 s sleep) or, the block over, in the 0.3 s tail.
        await asyncio.wait_for(in_block.wait(), 2)
        assert radio.keyed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not radio.keyed
    await ptt.close()


async def test_watchdog_unkeys_a_block_that_runs_too_long() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio, max_transmit=0.3)
    await ptt.start()
    async with ptt.keyed():
        await eventually(lambda: not radio.keyed)  # cut at max_transmit while the block ran
    [(_, held)] = radio.transmissions()
    assert 0.3 <= held < 0.9
    assert ptt.watchdog_trips == 1
    async with ptt.keyed():  # the next transmission keys as usual
        assert radio.keyed
    assert not radio.keyed
    await ptt.close()


async def test_watchdog_unkeys_even_when_the_event_loop_is_stuck() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio, max_transmit=0.2)
    await ptt.start()
    async with ptt.keyed():
        time.sleep(0.8)  # noqa: ASYNC251 - the point: a stuck loop runs no asyncio timer
        assert not radio.keyed
    [(_, held)] = radio.transmissions()
    assert held < 0.7  # cut well before the block ended
    await ptt.close()


async def test_shutdown_while_keyed_unkeys() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio)
    await ptt.start()
    in_block = asyncio.Event()

    async def speak() -> None:
        async with ptt.keyed():
            in_block.set()
            await asyncio.sleep(10)  # a block that would run on: the daemon stops meanwhile

    task = asyncio.create_task(speak())
    await asyncio.wait_for(in_block.wait(), 2)
    assert radio.keyed
    await ptt.close()  # the daemon stops while an announcement is on air
    assert not radio.keyed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not radio.keyed
    await ptt.close()  # idempotent


async def test_one_transmission_at_a_time() -> None:
    radio = PttLineObserver()
    ptt = make_ptt(radio)
    await ptt.start()

    async def speak() -> None:
        async with ptt.keyed():
            await asyncio.sleep(BLOCK_S)

    await asyncio.gather(speak(), speak(), speak())
    spans = radio.transmissions()
    assert len(spans) == 3
    assert all(a + d <= b for (a, d), (b, _) in itertools.pairwise(spans))
    await ptt.close()


async def test_a_missing_port_is_unavailable_and_never_keyed() -> None:
    ptt = SerialPushToTalk(url="/dev/vipctl-no-such-radio", lead_in=0, tail=0)
    await ptt.start()  # logs, does not stop the daemon
    with pytest.raises(PttUnavailable):
        async with ptt.keyed():
            pytest.fail("the block ran without a radio")
    assert not ptt.is_keyed


async def test_a_pseudo_terminal_cannot_drive_rts() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        ptt = SerialPushToTalk(url=os.ttyname(slave))
        with pytest.raises(PttLineUnsupported, match="cannot drive RTS"):
            await ptt.start()
    finally:
        os.close(master)
        os.close(slave)


def test_a_tcp_port_is_refused_in_the_site_file() -> None:
    with pytest.raises(ValueError, match="no RTS or DTR"):
        SerialPttLine(url="socket://192.168.10.40:4001")
    line = SerialPttLine.model_validate({"url": "/dev/ttyUSB3", "line": "dtr"})
    ptt = SerialPushToTalk.from_options(line, lead_in=0.2, tail=0.4, max_transmit=30)
    assert (ptt.url, ptt.line, ptt.max_transmit) == ("/dev/ttyUSB3", "dtr", 30)
