"""The campaign's shape and its seeded fault schedule.

Every visit gets one fault, of a kind dealt from a seeded shuffle (each kind at least once,
the rest in the proportions of WEIGHTS), at a seeded moment between its preparation and its
departure. The same seed gives the same schedule, the same drops and the same moments.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

# What each kind does (README, "Reliability"):
FAULT_KINDS = (
    "broker-kill",  # Mosquitto SIGKILLed, restarted from its persistence file
    "daemon-kill",  # vipctl SIGKILLed at a random moment, held devices switched off meanwhile
    "daemon-kill-commit",  # vipctl SIGKILLed as a press's announcement hits the wire
    "command-drop",  # 30 % of every device's commands lost
    "device-offline",  # a device drops off (its last will), is switched off, comes back
    "serial-vanish",  # a serial port disappears (the DMX widget goes dark) and returns
    "intercom-slow",  # the intercom takes ten times longer to play each announcement
    "half-open",  # the daemon's TCP link to the broker silently drops everything
)
# Shares of the full run's faults after one of each: ≥ 20 broker kills and ≥ 20 daemon kills.
WEIGHTS = {"broker-kill": 22, "daemon-kill": 12, "daemon-kill-commit": 12,
           "command-drop": 12, "device-offline": 12, "serial-vanish": 10,
           "intercom-slow": 10, "half-open": 10}
# Seconds each kind lasts, drawn uniformly (the SIGKILLs: how long the process stays down).
DURATION_S = {"broker-kill": (0.3, 1.5), "daemon-kill": (0.0, 1.0),
              "daemon-kill-commit": (0.0, 0.5), "command-drop": (3.0, 6.0),
              "device-offline": (1.0, 3.0), "serial-vanish": (0.5, 2.0),
              "intercom-slow": (3.0, 6.0),
              # Longer than the daemon's keepalive can take to notice (about 3 s at 1 s).
              "half-open": (3.5, 5.0)}
DROP_SHARE = 0.3  # the command-drop fault's probability
SLOW_SECONDS_PER_CHAR = 0.1  # the intercom-slow fault (the simulator's usual: 0.01)
TRIGGERS = ("arrival", "show_flat", "departure")
RECEIVE_S = 2.0  # the presses of one visit take about 1 s; a fault ends this long before its end
SCENE_LEAD = timedelta(minutes=45)  # the shipped scene's first cue: start-45m


@dataclass(frozen=True)
class CampaignConfig:
    visits: int
    speed: float  # the daemon's --speed: scene time runs this many times faster
    spacing_s: float  # from one booked start to the next (real seconds)
    duration_s: float  # each visit's booked length (real seconds)
    seed: int = 1
    holds_back_s: float = 2.0  # the bound on a fault's recovery (checker.check_faults)

    @property
    def lead_s(self) -> float:
        """From the first preparation cue to the start, in real seconds."""
        return SCENE_LEAD.total_seconds() / self.speed


# The quick campaign is CI's smoke run, beside the rest of the suite on two busy cores: a
# daemon restart or a broker reconnect there took up to 4.3 s, not the quiet machine's 1 s.
# Its visits are spaced so that a press repeated that late still falls in its own visit's
# half (offset_for), and its recovery bound is the loaded machine's; the figures are the
# full campaign's, on a quiet machine.
QUICK = CampaignConfig(visits=10, speed=1200, spacing_s=12.0, duration_s=9.0, holds_back_s=8.0)
FULL = CampaignConfig(visits=100, speed=500, spacing_s=11.0, duration_s=9.5)


@dataclass(frozen=True)
class PlannedFault:
    visit: int  # index of the visit it falls in
    kind: str
    offset_s: float  # from the visit's booked start (negative: during its preparation)
    duration_s: float
    trigger: str = ""  # daemon-kill-commit: the press whose announcement sets it off
    seed: int = 0  # for what the fault draws itself (the drops)


def kinds_for(visits: int, rng: random.Random) -> list[str]:
    """One kind per visit: each kind once, the rest by WEIGHTS (largest remainder)."""
    if visits < len(FAULT_KINDS):
        raise ValueError(f"a campaign needs at least {len(FAULT_KINDS)} visits")
    rest = visits - len(FAULT_KINDS)
    total = sum(WEIGHTS.values())
    share = {k: rest * w / total for k, w in WEIGHTS.items()}
    counts = {k: 1 + int(s) for k, s in share.items()}
    by_remainder = sorted(share, key=lambda k: share[k] - int(share[k]), reverse=True)
    for k in by_remainder[: visits - sum(counts.values())]:
        counts[k] += 1
    kinds = [k for k in FAULT_KINDS for _ in range(counts[k])]
    rng.shuffle(kinds)
    return kinds


def schedule(config: CampaignConfig) -> list[PlannedFault]:
    rng = random.Random(config.seed)
    faults = []
    for i, kind in enumerate(kinds_for(config.visits, rng)):
        low, high = DURATION_S[kind]
        duration = rng.uniform(low, high)
        if kind == "daemon-kill-commit":  # armed before the visit, fired by its press
            trigger = rng.choice(TRIGGERS)
            faults.append(PlannedFault(i, kind, -0.5, duration, trigger))
            continue
        faults.append(PlannedFault(i, kind, offset_for(config, duration, rng), duration,
                                   seed=rng.randrange(2**32)))
    return faults


def offset_for(config: CampaignConfig, duration: float, rng: random.Random) -> float:
    """Anywhere from the preparation's first cue to the departure, but over early enough
    that the presses a fault swallowed, made again, still fall in the visit's first half
    of the spacing: later, the arrival press goes to the next visit, whose start is nearer
    (Engine.target_for; README, "Reliability"), and the guest becomes a no-show. A long
    fault may begin in the last visit's tail instead, after its restore."""
    latest_end = min(1.5, config.duration_s - RECEIVE_S, config.spacing_s / 2 - 1.0)
    low, high = -0.9 * config.lead_s, latest_end - duration
    if high < low:
        low = max(high, -(config.spacing_s - RECEIVE_S))
    return rng.uniform(low, max(low, high))
