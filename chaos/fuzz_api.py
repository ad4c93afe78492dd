"""API fuzz: the HTTP API fuzzed from its own OpenAPI schema, as an admin, a concierge and a
viewer, against `vipctl run` with the demo site's devices played by the simulators. Whatever
comes in, the answer is never a 5xx, and the server neither stalls nor dies.

tests/web/test_api_fuzz.py's setup at scale: every operation in both of schemathesis's
modes (valid requests, and requests that break the schema) gets its share of the cases,
each with a seed of its own, and the cases take the three roles' tokens in turn. A case that
gets a 5xx, no answer within REQUEST_TIMEOUT_S, or a broken connection is a failure, kept
with the request as a curl command. The live feed is left out (it never ends; its own tests
cover it).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Err

from bench import sitegen
from bench.broker import BenchBroker
from bench.procs import Child, python_module, vipctl_run
from tests.broker import free_port

# Cases in all: the full run and the quick one (CI).
FULL_CASES = 10_000
QUICK_CASES = 500
# ...but at least this many for each operation and mode, in each round.
MIN_EACH = 3
# How long one request may take: a trigger waits for its devices' confirmations.
REQUEST_TIMEOUT_S = 15.0
ROLES = ("admin", "concierge", "viewer")
TOKENS = {role: f"chaos-{role}-token-0123456789" for role in ROLES}
API_READY = "API on http"  # controller/api/server.py logs it once the port answers
KEEP_FAILURES = 5  # failures listed in the notes, with their requests


@dataclass
class Tally:
    """What the cases got: status codes per operation, and the failures."""

    cases: int = 0
    failures: list[str] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)


def run(work: Path, *, quick: bool, seed: int) -> dict[str, Any]:
    target = QUICK_CASES if quick else FULL_CASES
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    broker = BenchBroker()
    broker.start()
    children: list[Child] = []
    try:
        site = _site(work / "api-site.yaml", broker.url, work / "api-site.db")
        sims = python_module("sims", work / "api-sims.log", "bench.sims", str(site))
        children.append(sims)
        sims.wait_for("ready")
        port = free_port()
        daemon = vipctl_run(work / "api-daemon.log", site, api_port=port)
        children.append(daemon)
        daemon.wait_for(API_READY)
        url = f"http://127.0.0.1:{port}"
        spec: dict[str, Any] = httpx.get(f"{url}/openapi.json", timeout=10).json()
        tally = fuzz(spec, url, target, seed)
        alive = daemon.proc.poll() is None and _healthy(url)
        code = daemon.stop()
        return _verdict(tally, spec, alive, code, time.perf_counter() - started)
    finally:
        for child in reversed(children):
            child.stop()
        broker.stop()


def _site(path: Path, broker_url: str, database: Path) -> Path:
    sitegen.write_site(path, broker_url=broker_url, database=database,
                       devices=sitegen.demo()[0], groups=sitegen.demo()[1],
                       client_id="vipctl-api-fuzz")
    data = yaml.safe_load(path.read_text())
    data["auth"] = {"tokens": [{"name": f"chaos_{role}", "role": role, "token": token}
                               for role, token in TOKENS.items()]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def fuzz(spec: dict[str, Any], url: str, target: int, base_seed: int) -> Tally:
    """At least `target` cases, over every operation and both modes, in rounds."""
    schema = schemathesis.openapi.from_dict(spec).exclude(path="/events/stream")
    strategies = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the API's own description is broken: say so at once
            raise result.err()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append((mode, result.ok().as_strategy(generation_mode=mode)))
    tally = Tally()
    with requests.Session() as session:
        call = _caller(url, session, tally)
        for n in itertools.count():
            left = target - tally.cases
            if left <= 0:
                break
            each = max(MIN_EACH, -(-left // len(strategies)))
            for i, (mode, strategy) in enumerate(strategies):
                test = settings(max_examples=each, deadline=None, database=None,
                                phases=[Phase.explicit, Phase.generate],
                                suppress_health_check=list(HealthCheck))(given(case=strategy)(call))
                try:
                    seed(base_seed * 1_000_003 + n * 1009 + i)(test)()
                except Unsatisfiable:
                    # An operation that takes nothing (GET /health) has no invalid request.
                    if mode is not GenerationMode.NEGATIVE:
                        raise
    return tally


def _caller(url: str, session: requests.Session, tally: Tally,
            ) -> Callable[[Case[Any]], None]:
    """What each case does: its request, with the next role's token, counted in `tally`."""
    roles = itertools.cycle(ROLES)

    def call(case: Case[Any]) -> None:
        role = next(roles)
        tally.cases += 1
        tally.operations.add(f"{case.method} {case.path}")
        try:
            response = case.call(base_url=url, session=session, timeout=REQUEST_TIMEOUT_S,
                                 headers={"Authorization": f"Bearer {TOKENS[role]}"})
        except requests.RequestException as exc:  # a stall or a dropped connection
            tally.failures.append(f"{type(exc).__name__} as {role} for "
                                  f"{case.as_curl_command()}: {exc}")
            return
        tally.codes[response.status_code] = tally.codes.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            tally.failures.append(f"{response.status_code} as {role} for "
                                  f"{case.as_curl_command()}: {response.text[:300]}")

    return call


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _verdict(tally: Tally, spec: dict[str, Any], alive: bool, code: int | None,
             seconds: float) -> dict[str, Any]:
    operations = {f"{method.upper()} {path}" for path, methods in spec["paths"].items()
                  for method in methods if path != "/events/stream"}
    missed = sorted(operations - tally.operations)
    codes = ", ".join(f"{n:,}× {c}" for c, n in sorted(tally.codes.items()))
    notes = (f"{len(operations)} operations × 2 modes, roles {'/'.join(ROLES)} in turn; "
             f"answers: {codes}")
    problems = []
    if not alive:
        problems.append("daemon dead or /health not answering after the fuzz")
    if code != 0:
        problems.append(f"unclean exit {code}")
    if missed:
        problems.append(f"never tried {missed}")
    if problems or tally.failures:
        notes += "; FAILED: " + "; ".join(problems + tally.failures[:KEEP_FAILURES])
    return {"name": "api fuzz", "cases": tally.cases,
            "failures": len(tally.failures) + len(problems),
            "seconds": round(seconds, 1), "notes": notes}
