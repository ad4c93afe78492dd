"""`vipctl demo --serial`: the demo's visit with its AC on CoolMaster and lights on DMX."""

from __future__ import annotations

import asyncio

from tests.cli.helpers import kill_group, start


async def test_demo_with_serial_devices_runs_through() -> None:
    proc = start("demo", "--serial", "--no-api", "--speed", "1200", "--lead", "4")
    try:
        out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 0, out + err
    assert "serial: ac_gateway (coolmaster) on " in out
    assert "dmx_widget (dmx) on socket://127.0.0.1:" in out
    assert "confirmed vip_room_ac reports power=on mode=cool setpoint=24" in out
    assert "confirmed sand_table_lights reports power=on (assumed)" in out
    assert "failures: none" in out
    assert "nothing left running" in out
