"""Node-RED beside vipctl: the same receive-and-publish, in the same run (`--peers`).

`scripts/bench --peers` installs Node-RED (the version bench/nodered/package-lock.json pins)
with npm into bench/.peers/, which git ignores. Here it runs headless with
bench/nodered/settings.js in a user folder of its own, the flow bench/nodered/flow.json
pointed at the bench's broker: an `mqtt in` node on the press topic, a function node that
makes the intercom's `say` as vipctl-intercom spells it, an `mqtt out` node that publishes it
at the press's QoS. The bench presses it as it presses the floor, and the table gets a row
for each trigger rate. Without Node.js, or before the install, the row says why it was
skipped.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.presses import ACTIONS, Latencies, paired_presses
from bench.procs import Child
from bench.wire import BenchClient
from tests.broker import Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "bench" / "nodered"  # package.json and its lock, the flow, the settings
INSTALLED = ROOT / "bench" / ".peers"
RED_JS = INSTALLED / "node_modules" / "node-red" / "red.js"
PRESS_TOPIC, SAY_TOPIC = "bench/nodered/press", "bench/nodered/say"  # flow.json's
# Logged by the mqtt nodes once connected (@node-red/nodes' "mqtt.state.connected").
CONNECTED = "Connected to broker"
# The flow subscribes after connecting: probe until a press comes back, this long at most.
PROBE_S = 30.0


@dataclass(frozen=True)
class Unavailable:
    """Why Node-RED is not in this run: the table's row says it."""

    reason: str


def unavailable() -> Unavailable | None:
    """None when Node.js and the installed Node-RED are both there."""
    if shutil.which("node") is None:
        return Unavailable("node not found")
    if not RED_JS.is_file():
        return Unavailable(f"Node-RED not installed in {INSTALLED.relative_to(ROOT)} "
                           "(scripts/bench --peers installs it)")
    return None


def version() -> str:
    package = json.loads((RED_JS.parent / "package.json").read_text())
    return str(package["version"])


class NodeRed:
    """One headless Node-RED running the bench's flow, until stop()."""

    def __init__(self, broker: Mosquitto, work: Path) -> None:
        self.name = f"Node-RED {version()}"
        user_dir = work / "nodered-user"
        user_dir.mkdir(exist_ok=True)
        # A copy: Node-RED owns its flow file and may write beside it (.flows.json.backup).
        flow = shutil.copy(FILES / "flow.json", user_dir / "flows.json")
        node = shutil.which("node") or "node"
        # Headless, it opens no HTTP port; a free one all the same, so that turning the
        # editor on in settings.js to look at the flow never meets another's 1880.
        self.child = Child(
            "node-red", [node, str(RED_JS), "--settings", str(FILES / "settings.js"),
                         "--userDir", str(user_dir), "--port", str(free_port()), str(flow)],
            work / "nodered.log",
            env={"BENCH_MQTT_HOST": broker.host, "BENCH_MQTT_PORT": str(broker.port),
                 "NODE_RED_DISABLE_TELEMETRY": "1"})

    def start(self, client: BenchClient) -> None:
        """Wait until the flow answers a press (its subscription is in place)."""
        self.child.wait_for(CONNECTED)
        deadline = time.monotonic() + PROBE_S
        while time.monotonic() < deadline:
            if self.presses(client, 1, 10.0, 1, drain=1.0):
                return
        raise RuntimeError(f"Node-RED's flow did not answer within {PROBE_S:g} s; "
                           f"see {self.child.log}")

    def presses(self, client: BenchClient, n: int, rate: float, qos: int, *,
                drain: float | None = None) -> Latencies:
        """n presses (the button's actions, numbered) → the flow's `say`, paired by id."""
        def press(i: int) -> None:
            body = json.dumps({"action": ACTIONS[i % 3], "n": i})
            client.publish(PRESS_TOPIC, body, qos=qos)

        def pairing(payload: bytes) -> int | None:
            said = str(json.loads(payload).get("id", "")).split(":")
            return int(said[1]) if len(said) == 3 and said[0] == "nodered" else None

        return paired_presses(client, n, rate, publish=press, answer_topic=SAY_TOPIC,
                              pairing=pairing, drain=drain)

    def stop(self) -> None:
        self.child.stop()
