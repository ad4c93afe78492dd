"""SerialPort on real ptys and sockets: one request at a time, each with a timeout; a unit
that stops answering; a port pulled and returned; one owner per port; garbage."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.conventions.coolmaster import CoolMasterCodec
from devices.transports.base import TransportUnavailable
from devices.transports.serial import SerialPort, SerialSettings
from simulators.coolmaster import CoolMasterSimulator
from simulators.serial_link import PtyLink, SocketLink
from tests.waiting import eventually

UNITS = ["L1.100", "L1.101", "L1.102"]
GONE_S = 1.5  # how long a pulled port stays away in the backoff test


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[CoolMasterSimulator]:
    sim = CoolMasterSimulator("ac_gateway", PtyLink(tmp_path / "ac_gateway"), UNITS)
    await sim.start()
    yield sim
    await sim.stop()


def port_for(sim: CoolMasterSimulator, **settings: float) -> SerialPort:
    options = {"reply_timeout": 0.3, "poll_interval": 60.0, "reopen_min": 0.05,
               "reopen_max": 0.4, **settings}
    return SerialPort("ac_gateway", SerialSettings(url=sim.url, **options),  # type: ignore[arg-type]
                      CoolMasterCodec.make_framing())


class Heard:
    """Everything the port handed to subscribers, in order."""

    def __init__(self, port: SerialPort, *filters: str) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.links: list[bool] = []
        for f in filters:
            port.subscribe(f, lambda t, p, _: self.items.append((t, p)))
        port.add_connection_listener(self.links.append)

    def topics(self) -> list[str]:
        return [t for t, _ in self.items]


async def test_requests_never_interleave(gateway: CoolMasterSimulator) -> None:
    gateway.faults.reply_delay = 0.02
    async with port_for(gateway) as port:
        heard = Heard(port, *(f"{u}/#" for u in UNITS))
        await port.wait_connected()
        requests = [(f"{u}/ls2", f"ls2 {u}\r\n") for u in UNITS * 4]
        await asyncio.gather(*(port.publish(t, p) for t, p in requests))
    times = [r.at for r in gateway.received]
    assert len(times) == 12
    # The next request went out only after the previous one's (late) reply had come back.
    assert all(b - a >= 0.019 for a, b in itertools.pairwise(times))
    for topic, reply in heard.items:  # each reply went to the unit that was asked
        assert reply.startswith(topic.split("/")[0].encode())


async def test_a_unit_that_stops_answering_is_reported_and_its_return_too(
    gateway: CoolMasterSimulator,
) -> None:
    async with port_for(gateway, silent_after=2) as port:
        heard = Heard(port, "L1.100/#", "$port")
        await port.wait_connected()
        gateway.faults.ignore_commands = True
        for _ in range(2):
            with pytest.raises(TransportUnavailable, match=r"no reply to L1.100/ls2 within 0.3 s"):
                await port.publish("L1.100/ls2", b"ls2 L1.100\r\n")
        assert ("L1.100/$status", b"offline") in heard.items
        gateway.faults.ignore_commands = False
        await port.publish("L1.100/ls2", b"ls2 L1.100\r\n")
        assert heard.topics()[-2:] == ["L1.100/$status", "L1.100/ls2"]
        assert heard.items[-2][1] == b"online"
        assert port.connected.is_set()  # silence is the unit's, not the port's


async def test_a_late_reply_is_not_taken_for_the_next_one(gateway: CoolMasterSimulator) -> None:
    async with port_for(gateway) as port:
        heard = Heard(port, *(f"{u}/#" for u in UNITS))
        await port.wait_connected()
        gateway.faults.reply_delay = 0.4  # after the 0.3 s timeout
        with pytest.raises(TransportUnavailable):
            await port.publish("L1.100/ls2", b"ls2 L1.100\r\n")
        gateway.faults.reply_delay = 0.0
        await port.publish("L1.101/ls2", b"ls2 L1.101\r\n")
    [(topic, reply)] = heard.items
    assert topic == "L1.101/ls2"
    assert reply.startswith(b"L1.101 ")


async def test_a_pulled_port_is_reopened_with_backoff(gateway: CoolMasterSimulator) -> None:
    async with port_for(gateway) as port:
        heard = Heard(port, "$port")
        await port.wait_connected()
        await gateway.vanish()
        await eventually(lambda: not port.connected.is_set())
        with pytest.raises(TransportUnavailable, match="not open"):
            await port.publish("L1.100/ls2", b"ls2 L1.100\r\n", timeout=0.2)
        # The port stays away for a while. Not a settle: the reopen attempts made over a
        # given time are what the test counts.
        await asyncio.sleep(GONE_S)
        # Backoff: far fewer attempts than one per reopen_min (0.05 s) over 1.5 s.
        assert 3 <= port.open_failures <= 12
        await gateway.come_back()
        await port.wait_connected(timeout=2)
        await port.publish("L1.100/on", b"on L1.100\r\n")  # resumed
    assert gateway.units["L1.100"]["power"] is True
    assert heard.items == [("$port", b"online"), ("$port", b"offline"), ("$port", b"online")]
    assert heard.links == [True, False, True]
    assert port.opens == 2


async def test_a_serial_server_restart_over_socket() -> None:
    sim = CoolMasterSimulator("ac_gateway", SocketLink(), UNITS)
    await sim.start()
    try:
        async with port_for(sim) as port:
            await port.wait_connected()
            await sim.vanish()  # the serial-over-TCP box reboots
            await eventually(lambda: not port.connected.is_set())
            await sim.come_back()
            await port.wait_connected(timeout=3)
            await port.publish("L1.102/off", b"off L1.102\r\n")
            assert port.opens == 2
    finally:
        await sim.stop()
    assert ("L1.102", "off L1.102") in sim.commands()


async def test_one_owner_per_port(gateway: CoolMasterSimulator) -> None:
    first, second = port_for(gateway), port_for(gateway)
    await first.start()
    await first.wait_connected()
    await second.start()
    try:
        await eventually(lambda: second.open_failures >= 1)  # the port is locked by its owner
        assert not second.connected.is_set()
        await first.close()
        await second.wait_connected(timeout=3)
    finally:
        await first.close()
        await second.close()


async def test_garbage_on_the_line_never_crashes_the_port(
    gateway: CoolMasterSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(5)
    errors = 0
    async with port_for(gateway) as port:
        heard = Heard(port, "L1.100/#")
        await port.wait_connected()
        for i in range(60):
            gateway.send_garbage(rng.randbytes(rng.randrange(1, 300)))
            gateway.faults.garble = i % 3 == 0
            try:
                await port.publish("L1.100/ls2", b"ls2 L1.100\r\n")
            except TransportUnavailable:
                errors += 1
        gateway.faults.garble = False
        await port.publish("L1.100/ls2", b"ls2 L1.100\r\n")
        assert port.connected.is_set()
        assert port.opens == 1
    assert heard.items[-1][1].startswith(b"L1.100 OFF")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors < 60
