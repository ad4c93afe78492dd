"""MQTT fuzz: seeded garbage on every topic `vipctl run` subscribes to during a visit, with
real button presses in between. The daemon must stay up, answer every press in time, act on
no garbage, and keep its memory.

The site is config/demo.yaml's devices (every MQTT convention and kind), played by the
simulators in their own process, with visits already preparing; the scene is the shipped
one's triggered announcements only (F1, F7, F13, as bench/trigger.py runs it), so that press
k has exactly one announcement, `<visit>:<cue>:announce`, and anything else the daemon does
was set off by garbage. The topics are no list of ours: each device's own codec says what it
subscribes to (state, availability, the button's action, the intercom's state and event).

A run is rounds of a burst of up to BURST payloads, published as fast as the socket takes
them, then one press (a Zigbee2MQTT action, not retained) whose announcement on the
intercom's `say` topic must come within PRESS_BOUND_S. Before the daemon starts, every topic
holds retained garbage; during the run some of the garbage is retained too. A burst stays
well under the broker's queue for one client (max_queued_messages 1000), and the broker's
own count of dropped messages is read at the end, so "cases" were delivered, not only sent.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import sitegen
from bench.broker import BenchBroker
from bench.presses import ACTIONS, CUES
from bench.procs import DAEMON_READY, Child, python_module, vipctl_run
from bench.stats import summary
from bench.trigger_sites import BOOKED_AHEAD, VISIT_DURATION, VISIT_STEP
from bench.visits import Planned, insert_visits, visit_id
from bench.wire import BenchClient
from controller.config.site import load_site
from controller.store.database import open_database
from controller.store.tables import EventRow
from controller.store.visits import VisitStatus
from devices.conventions.registry import make_codec
from devices.conventions.zigbee2mqtt import DEFAULT_ACTIONS

# A press's announcement must be on the broker within this long of the press, garbage
# notwithstanding (an idle daemon answers in ~2 ms; README, "Performance").
PRESS_BOUND_S = 1.0
# A press not answered within this long is lost, not late.
LOST_S = 10.0
# Bound on the daemon's growth of resident memory from after the warm-up to the end (MB):
# garbage is refused before it is kept anywhere, so what may grow is the allocator's
# fragmentation after megabyte payloads, and the done visits' rows.
RSS_GROWTH_MB = 25.0
# The share of rounds that warm up (imports, caches, the first 1 MB buffers) before the
# resident memory is taken as "before".
WARMUP_SHARE = 0.05
SETTLE_S = 1.0  # after the daemon is up, before the first burst (its state queries settle)
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"
MB = 1024 * 1024


@dataclass(frozen=True)
class FuzzConfig:
    cases: int  # payloads in all
    burst: int  # payloads between two presses, at most
    megabyte_share: float  # of payloads that are 1 MB
    retained_share: float  # of payloads published retained


FULL = FuzzConfig(cases=100_000, burst=200, megabyte_share=0.002, retained_share=0.01)
QUICK = FuzzConfig(cases=6_000, burst=150, megabyte_share=0.002, retained_share=0.01)


class FuzzBroker(BenchBroker):
    """The bench's broker, telling its counters every second ($SYS/broker/...)."""

    def __init__(self) -> None:
        super().__init__()
        self._conf.write_text(self._conf.read_text() + "sys_interval 1\n")


# --- what the devices would say: the shapes the garbage is made from -----------------------

IRHVAC = {"Vendor": "GREE", "Power": "On", "Mode": "Cool", "Celsius": "On", "Temp": 24,
          "FanSpeed": "Auto"}


def templates(convention: str, kind: str, topic: str) -> list[Any]:
    """Well-formed messages of `topic` (text or a JSON object): what the garbage distorts.
    On a button's topics only actions that are no press (a press is never garbage)."""
    leaf = topic.rsplit("/", 1)[-1]
    if convention == "tasmota":
        if leaf == "LWT":
            return ["Online", "Offline"]
        if leaf.startswith("POWER"):
            return ["ON", "OFF"]
        if kind == "climate":
            return [{"IRHVAC": IRHVAC} if topic.startswith("stat/")
                    else {"IrReceived": {"Protocol": "GREE", "Bits": 64, "IRHVAC": IRHVAC}}]
        return [{"POWER": "ON", "Dimmer": 60}, {"POWER": "OFF", "Wifi": {"RSSI": 80}}]
    if leaf == "availability":
        return ["online", "offline", {"state": "online"}]
    if convention == "zigbee2mqtt":
        if kind == "button":
            return ["release", ""] if leaf == "action" else [
                {"action": "release", "battery": 97, "linkquality": 120}]
        if kind == "climate":
            return [{"system_mode": "cool", "occupied_heating_setpoint": 22, "fan_mode": "auto",
                     "local_temperature": 25.5}]
        return [{"state": "ON", "brightness": 200, "linkquality": 90}]
    if convention == "vipctl-media":
        return [{"power": True, "playback": "playing", "media": "/srv/media/music/lobby",
                 "loop": True, "volume": 30, "position": 12.5, "error": None}]
    if leaf == "event":
        return [{"id": "fuzz-1", "event": "done", "at": 1.7e9},
                {"id": "fuzz-2", "event": "failed", "error": "no speaker"}]
    return [{"status": "idle", "speaking": None, "queue": 0, "announced": None}]


# Values of the wrong type or out of any range, as JSON text (some no Python value makes).
ODD_JSON = [
    "null", "true", "false", "0", "-1", "101", "255", "256", "-273.15", "1e308", "-1e308",
    "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "-0", "18446744073709551616",
    "9" * 5000, "1" + "0" * 400, "[]", "{}", '[1,"two",null]', '{"a":{"b":[]}}', '""',
    '"ON"', '"on"', '"online"', '"offline"', '"\\u0000"', '"\\ud800"', '"24"', '"Cool"',
    '"single"', '"hold"', json.dumps("𝕏" * 50), json.dumps("A" * 20_000),
]
BAD_BYTES = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf", b"\x80" * 3,
             b"\xf4\x90\x80\x80"]


class Garbage:
    """Seeded garbage for a set of topics: (topic, payload, retained), one at a time."""

    def __init__(self, rng: random.Random, topics: dict[str, list[Any]],
                 config: FuzzConfig) -> None:
        self.rng = rng
        self.topics = topics
        self.names = sorted(topics)
        self.config = config
        self.kinds: dict[str, int] = {}
        self._makers: list[tuple[str, int, Callable[[list[Any]], bytes]]] = [
            ("random bytes", 15, self._random_bytes), ("mutated bytes", 15, self._mutated),
            ("wrong type", 18, self._wrong_value), ("out of range", 14, self._wrong_value),
            ("deep nesting", 10, self._deep), ("not an object", 8, self._not_object),
            ("odd text", 10, self._odd_text), ("bloated", 10, self._bloated),
        ]

    def next(self) -> tuple[str, bytes, int, bool]:
        """A topic, garbage for it, the QoS to publish it with and whether retained."""
        topic = self.rng.choice(self.names)
        qos, retain = self.rng.randrange(2), self.rng.random() < self.config.retained_share
        return topic, self.payload(topic), qos, retain

    def payload(self, topic: str) -> bytes:
        while True:
            if self.rng.random() < self.config.megabyte_share:
                kind, payload = "1 MB", self._megabyte(self.topics[topic])
            else:
                kind, _, maker = self.rng.choices(
                    self._makers, weights=[w for _, w, _ in self._makers])[0]
                payload = maker(self.topics[topic])
            if not is_press(topic, payload):
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
                return payload

    def _shape(self, shapes: list[Any]) -> bytes:
        shape = self.rng.choice(shapes)
        return shape.encode() if isinstance(shape, str) else json.dumps(shape).encode()

    def _random_bytes(self, shapes: list[Any]) -> bytes:
        return self.rng.randbytes(self.rng.choice((0, 1, 2, 8, 64, 512, 4096)))

    def _mutated(self, shapes: list[Any]) -> bytes:
        data = bytearray(self._shape(shapes))
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randint(0, len(data))
            how = self.rng.randrange(4)
            if how == 0 and data:
                data[min(at, len(data) - 1)] = self.rng.randrange(256)
            elif how == 1:
                data[at:at] = self.rng.choice(BAD_BYTES)
            elif how == 2:
                del data[at:at + self.rng.randint(1, 8)]
            else:
                data = data[:at]
        return bytes(data)

    def _wrong_value(self, shapes: list[Any]) -> bytes:
        """A well-formed object with one field, at any depth, replaced by an odd value."""
        shape = self.rng.choice(shapes)
        if not isinstance(shape, dict):
            return self.rng.choice(ODD_JSON).encode()
        obj = json.loads(json.dumps(shape))
        target = obj
        while True:
            key = self.rng.choice(sorted(target))
            if isinstance(target[key], dict) and self.rng.random() < 0.7:
                target = target[key]
                continue
            target[key] = "\x00ODD\x00"
            break
        return json.dumps(obj).replace('"\\u0000ODD\\u0000"', self.rng.choice(ODD_JSON)).encode()

    def _deep(self, shapes: list[Any]) -> bytes:
        depth = self.rng.choice((100, 1_000, 10_000, 100_000, 400_000))
        form = self.rng.randrange(4)
        if form == 0:
            return b"[" * depth + b"]" * depth
        if form == 1:
            return b'{"a":' * depth + b"0" + b"}" * depth
        if form == 2:
            return b"[" * depth  # never closed
        shape = self.rng.choice(shapes)
        key = self.rng.choice(sorted(shape)) if isinstance(shape, dict) else "state"
        return b'{"' + key.encode() + b'":' + b"[" * depth + b"]" * depth + b"}"

    def _not_object(self, shapes: list[Any]) -> bytes:
        choice = self.rng.randrange(3)
        if choice == 0:
            return self.rng.choice(ODD_JSON).encode()
        if choice == 1:
            return json.dumps([self.rng.choice(shapes)]).encode()
        return json.dumps(json.dumps(self.rng.choice(shapes))).encode()  # an object in a string

    def _odd_text(self, shapes: list[Any]) -> bytes:
        text = self._shape(shapes)
        forms = [b"", b" \t\r\n", b"\xef\xbb\xbf" + text, text.decode().encode("utf-16"),
                 text.upper(), text.lower(), text + b"\x00", b"\x00" + text, text * 2,
                 text.replace(b'"', b"'"), text + b" trailing", text.decode().title().encode()]
        return self.rng.choice(forms)

    def _bloated(self, shapes: list[Any]) -> bytes:
        shape = self.rng.choice(shapes)
        base = dict(shape) if isinstance(shape, dict) else {"state": shape}
        n = self.rng.choice((100, 2_000, 20_000))
        if self.rng.random() < 0.5:
            base.update({f"k{i}": i for i in range(n)})
        else:
            base[self.rng.choice(sorted(base))] = "字" * n
        return json.dumps(base, ensure_ascii=self.rng.random() < 0.5).encode()

    def _megabyte(self, shapes: list[Any]) -> bytes:
        form = self.rng.randrange(4)
        if form == 0:
            return self.rng.randbytes(MB)
        if form == 1:
            return b"[" * MB
        if form == 2:
            return b'{"state":"' + b"A" * MB + b'"}'
        return self._shape(shapes) + b" " * MB  # well formed, but a megabyte


def is_press(topic: str, payload: bytes) -> bool:
    """What Zigbee2MQTT says when a button is pressed: a vendor action name (its docs) as the
    `action` of the state object, or as the text of the 1.x `…/action` topic."""
    if not topic.startswith("zigbee2mqtt/"):
        return False
    try:
        if topic.endswith("/action"):
            return payload.decode().strip() in DEFAULT_ACTIONS
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    action = data.get("action") if isinstance(data, dict) else None
    return isinstance(action, str) and action in DEFAULT_ACTIONS


def topics_of(site_path: Path) -> dict[str, list[Any]]:
    """Every topic the daemon subscribes to for the site's devices, with its shapes."""
    site = load_site(site_path)
    topics: dict[str, list[Any]] = {}
    for device_id, spec in site.devices.items():
        codec = make_codec(device_id, spec.kind, spec.binding)
        for topic in codec.subscriptions():
            topics[topic] = templates(spec.convention, spec.kind, topic)
    return topics


# --- the run --------------------------------------------------------------------------------


class Watch:
    """The presses made, the announcements that came, and the broker's dropped count."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}  # expected announcement id → when pressed
        self.answered: dict[str, float] = {}
        self.unasked: list[str] = []  # announcements no press asked for
        # The preflight's reminders to engineering: devices flooded with garbage may well
        # look offline or silent before a visit, and saying so is what it is for.
        self.preflight: list[str] = []
        self.dropped = 0

    def on(self, topic: str, payload: bytes, at: float) -> None:
        if topic == SYS_DROPPED:
            self.dropped = int(payload)
            return
        try:
            said = str(json.loads(payload).get("id"))
        except (ValueError, AttributeError):
            said = repr(payload[:80])
        if said in self.sent:
            self.answered.setdefault(said, at)
        elif ":preflight:" in said:
            self.preflight.append(said)
        else:
            self.unasked.append(said)

    def press(self, client: BenchClient) -> str:
        """Press k is visit k // 3's arrival, show flat or departure (bench/presses.py)."""
        k = len(self.sent)
        expected = f"{visit_id(k // 3)}:{CUES[k % 3]}:announce"
        self.sent[expected] = time.perf_counter()
        client.publish(sitegen.BUTTON_TOPIC, json.dumps({"action": ACTIONS[k % 3]}), qos=k % 2)
        return expected

    def latencies_ms(self) -> list[float]:
        return [(self.answered[i] - t) * 1000 for i, t in self.sent.items() if i in self.answered]


def run(work: Path, *, quick: bool, seed: int) -> dict[str, Any]:
    config = QUICK if quick else FULL
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    rounds = math.ceil(config.cases / config.burst)
    broker = FuzzBroker()
    broker.start()
    children: list[Child] = []
    client: BenchClient | None = None
    try:
        site = sitegen.write_site(
            work / "fuzz-site.yaml", broker_url=broker.url, database=work / "fuzz-site.db",
            devices=sitegen.demo()[0], client_id="vipctl-fuzz")
        scene = sitegen.trigger_scene(work / "fuzz-scene.yaml")
        _book(site, rounds // 3 + 1)
        sims = python_module("sims", work / "fuzz-sims.log", "bench.sims", str(site))
        children.append(sims)
        sims.wait_for("ready")
        client = BenchClient(broker.host, broker.port, "fuzz")
        watch = Watch()
        client.receivers.append(watch.on)
        client.subscribe(sitegen.SAY_TOPIC, SYS_DROPPED)
        garbage = Garbage(random.Random(seed), topics_of(site), config)
        for topic in garbage.names:  # what the daemon finds on the broker when it starts
            client.publish(topic, garbage.payload(topic), qos=1, retain=True)
        daemon = vipctl_run(work / "fuzz-daemon.log", site, scene=scene)
        children.append(daemon)
        daemon.wait_for(DAEMON_READY)
        client.pump_until(lambda: False, SETTLE_S)
        rss_before, cases = _fuzz(client, daemon, garbage, watch, config)
        alive = daemon.proc.poll() is None
        client.pump_until(lambda: False, 1.5)  # the broker's next $SYS count, and a settle
        rss_after, rss_peak = daemon.memory_mb() if alive else (math.nan, math.nan)
        code = daemon.stop()
        return _verdict(site, daemon.log, watch, garbage, {
            "cases": cases, "alive": alive, "exit": code, "rss_before": rss_before,
            "rss_after": rss_after, "rss_peak": rss_peak,
            "seconds": time.perf_counter() - started})
    finally:
        if client is not None:
            client.close()
        for child in reversed(children):
            child.stop()
        broker.stop()


def _fuzz(client: BenchClient, daemon: Child, garbage: Garbage, watch: Watch,
          config: FuzzConfig) -> tuple[float, int]:
    """Bursts and presses until every case is sent or the daemon is gone; the resident
    memory after the warm-up, and the cases sent."""
    rounds = math.ceil(config.cases / config.burst)
    warmup = max(1, round(rounds * WARMUP_SHARE))
    rss_before, cases = math.nan, 0
    for r in range(rounds):
        if r == warmup:
            rss_before = daemon.memory_mb()[0]
        for _ in range(min(config.burst, config.cases - cases)):
            topic, payload, qos, retain = garbage.next()
            client.publish(topic, payload, qos=qos, retain=retain)
            cases += 1
        expected = watch.press(client)
        client.pump_until(lambda: expected in watch.answered, LOST_S)  # noqa: B023 - called now
        if daemon.proc.poll() is not None:
            break
    return rss_before, cases


def _book(site: Path, visits: int) -> None:
    """Visits preparing, one for every three presses, as bench/trigger_sites.py books them."""
    base = datetime.now().astimezone() + BOOKED_AHEAD
    planned = [Planned(visit_id(k), f"F{k:05d}", base + k * VISIT_STEP, VISIT_DURATION,
                       VisitStatus.PREPARING) for k in range(visits)]
    with contextlib.closing(open_database(f"sqlite:///{site.with_suffix('.db')}")) as db:
        insert_visits(db, planned)


def _logged(site: Path) -> dict[tuple[str, str], int]:
    """The daemon's event log of the run: (kind, device) → how many."""
    db = open_database(f"sqlite:///{site.with_suffix('.db')}")
    try:
        with db.read() as session:
            rows = session.execute(select(EventRow.kind, EventRow.device_id, func.count())
                                   .group_by(EventRow.kind, EventRow.device_id))
            return {(kind, device or ""): int(n) for kind, device, n in rows}
    finally:
        db.close()


def _verdict(site: Path, log: Path, watch: Watch, garbage: Garbage, run: dict[str, Any],
             ) -> dict[str, Any]:
    logged = _logged(site)
    presses = len(watch.sent)
    lat = watch.latencies_ms()
    late = sum(1 for ms in lat if ms > PRESS_BOUND_S * 1000)
    triggers = sum(n for (kind, _), n in logged.items() if kind == "trigger")
    # Only announcements may have been commanded: no cue sets a device in this scene.
    acted = sum(n for (kind, device), n in logged.items()
                if kind == "command" and device != "staff_intercom")
    tracebacks = log.read_text(errors="replace").count("Traceback")
    growth = run["rss_after"] - run["rss_before"]
    problems = {
        "daemon dead": not run["alive"], "unclean exit": run["exit"] != 0,
        "presses unanswered": presses - len(lat), f"presses over {PRESS_BOUND_S:g} s": late,
        "announcements no press asked for": len(watch.unasked),
        "triggers beyond the presses": max(0, triggers - presses),
        "devices commanded": acted, "tracebacks in the daemon's log": tracebacks,
        f"RSS growth over {RSS_GROWTH_MB:g} MB": not growth <= RSS_GROWTH_MB,
    }
    failures = sum(int(v) for v in problems.values())
    s = summary(lat)
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(garbage.kinds.items(), key=lambda x: -x[1]))
    notes = (f"{run['cases']:,} payloads on {len(garbage.names)} topics ({kinds}; "
             f"{len(garbage.names)} retained before start, {garbage.config.retained_share:.0%} "
             f"retained after); {presses} presses, p50 {s['p50']:.1f} · max {s['max']:.1f} ms "
             f"(bound {PRESS_BOUND_S * 1000:.0f} ms); RSS {run['rss_before']:.1f} → "
             f"{run['rss_after']:.1f} MB, peak {run['rss_peak']:.1f} (bound +{RSS_GROWTH_MB:g} "
             f"MB); broker dropped {watch.dropped}; garbage events logged "
             f"{sum(n for (k, _), n in logged.items() if k == 'garbage'):,}")
    bad = [f"{k}: {v}" for k, v in problems.items() if v]
    if bad:
        notes += "; FAILED: " + ", ".join(bad)
    if watch.unasked:
        notes += f" (unasked: {watch.unasked[:5]})"
    if watch.preflight:
        notes += f"; preflight reminders {len(watch.preflight)}"
    return {"name": "mqtt fuzz", "cases": run["cases"], "failures": failures,
            "rss_mb_before": round(run["rss_before"], 1),
            "rss_mb_after": round(run["rss_after"], 1), "rss_mb_peak": round(run["rss_peak"], 1),
            "press_ms": round(s["max"], 2), "press_ms_p50": round(s["p50"], 2),
            "presses": presses, "seconds": round(run["seconds"], 1), "notes": notes}
