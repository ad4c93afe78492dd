"""GET /metrics: the daemon's metrics in Prometheus's text format (README, "Monitoring").

Open to the site's scrape token (`api.metrics_token_env`, good for this path only:
auth_middleware.ScrapeToken) and to any credential with the viewer role or better.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from controller.api.auth_middleware import METRICS_PATH
from controller.api.deps import CallerDep, DaemonDep

router = APIRouter()


@router.get(METRICS_PATH, tags=["status"], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}},
                             "description": "Prometheus text format 0.0.4"}})
async def metrics(daemon: DaemonDep, caller: CallerDep) -> Response:
    """Cue lateness, command confirmation times, failed commands, announcements played and
    failed, device availability, the intercom queues, visits by status, and the process."""
    body = await daemon.metrics_exporter.render()
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
