"""The API fuzzed from its own OpenAPI schema (schemathesis 4 strategies, hypothesis): valid
and invalid requests to every operation, as an admin, against the real server, daemon,
broker and simulators. Whatever comes in, the answer is never a 500.

Bounded: a fixed number of examples, derandomized, no example database, so a run takes
seconds and is the same every time. The live feed is left out (it never ends; its own tests
cover it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.api.harness import ADMIN, ApiSite, served

# Examples in all, over every operation and both modes: about 10 s on a quiet machine.
EXAMPLES = 400
# ...but at least this many for each operation and mode.
MIN_EACH = 3
# How long one request may take: a trigger waits for its devices' confirmations.
REQUEST_TIMEOUT_S = 15


async def test_no_input_gets_a_500(site: ApiSite) -> None:
    async with served(site) as server, httpx.AsyncClient(base_url=server.url) as http:
        spec: dict[str, Any] = (await http.get("/openapi.json")).json()
    # The server keeps serving in this loop while hypothesis drives requests from a thread.
    async with served(site) as server:
        failures, codes = await asyncio.to_thread(fuzz, spec, server.url)
    assert failures == [], "\n".join(failures[:10])
    # It got past the door into the daemon's own checks: refused bookings (P1, the past),
    # triggers pressed, ids looked up; and malformed requests were told why.
    assert 409 in codes["POST /visits"] and 422 in codes["POST /visits"]
    assert 404 in codes["GET /visits/{visit_id}/plan"]
    assert "trigger" in {e.kind for e in site.rig.daemon.events.query(limit=1000)}


def fuzz(spec: dict[str, Any], url: str) -> tuple[list[str], dict[str, list[int]]]:
    schema = schemathesis.openapi.from_dict(spec).exclude(path="/events/stream")
    # Every operation gets its own share of the examples, in both modes, however many
    # operations the API grows to.
    strategies = [
        (mode, operation.ok().as_strategy(generation_mode=mode))
        for operation in schema.get_all_operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    failures: list[str] = []
    seen: set[str] = set()
    codes: dict[str, list[int]] = {}

    def call(case: schemathesis.Case) -> None:
        seen.add(f"{case.method} {case.path}")
        response = case.call(base_url=url, headers=ADMIN, timeout=REQUEST_TIMEOUT_S)
        codes.setdefault(f"{case.method} {case.path}", []).append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} for {case.as_curl_command()}: "
                            f"{response.text[:300]}")

    each = max(MIN_EACH, EXAMPLES // max(1, len(strategies)))
    for mode, strategy in strategies:
        run = settings(max_examples=each, deadline=None, database=None, derandomize=True,
                       phases=[Phase.explicit, Phase.generate],
                       suppress_health_check=list(HealthCheck))(given(case=strategy)(call))
        try:
            run()
        except Unsatisfiable:
            # An operation that takes nothing (GET /health) has no invalid request to make.
            if mode is not GenerationMode.NEGATIVE:
                raise
    operations = {f"{method.upper()} {path}" for path, methods in spec["paths"].items()
                  for method in methods if path != "/events/stream"}
    missed = operations - seen
    assert not missed, f"the fuzz never tried {sorted(missed)}"
    return failures, codes
