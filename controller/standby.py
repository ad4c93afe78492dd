"""Hot standby (`database: {standby: true}`): two `vipctl run` of one site on two machines,
one PostgreSQL at the site.

The daemon that holds the site's lock (controller/store/site_lock.py) is active: it runs
the devices, the schedule and the full API. The other is the standby: it touches no
device, serves the API read-only from the database (the page still shows the visits and
the event log; anything that would change them gets 503), and asks for the lock every
POLL_S. When the active one dies, its session ends and the lock is free: the standby
takes it and starts as any vipctl starts after a crash, from the database: it rebuilds
the schedule, runs what is still worth running late, re-asserts every held state, and
never says an announcement twice (the claims in the ledger are the same table).

An active daemon that loses its lock's session (the database unreachable, the session
ended) cannot know whether the standby has taken over: it stops at once and exits 1, so
that two daemons never drive the devices together; its service manager starts it again
as the standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from controller.api.server import ApiError, ApiServer, serve_api
from controller.auth.credentials import AuthError
from controller.config.site import SiteConfig
from controller.daemon import Daemon
from controller.lifecycle import stop_on_signals
from controller.service.notify import Notifier
from controller.store.site_lock import SiteLock
from scenes.model import Scene

log = logging.getLogger(__name__)

# How often the standby asks for the lock, and re-reads the visits for its API (seconds).
POLL_S = 0.5
# How often the active daemon checks that its lock's session is alive (seconds).
CHECK_S = 1.0
# Exit statuses: as `vipctl run`'s (controller/cli/loading.py).
EXIT_FAILED = 1


async def _serve(daemon: Daemon, api: tuple[str, int] | None) -> ApiServer | None:
    if api is None:
        return None
    return await serve_api(daemon, *api)


async def _wait_as_standby(site: SiteConfig, scene: Scene, lock: SiteLock, *, speed: float,
                           api: tuple[str, int] | None, stopping: asyncio.Event,
                           notifier: Notifier) -> None:
    """Serve the API read-only until the lock is ours or `stopping` is set."""
    log.info("standby for site %s: another vipctl is active; waiting for the site lock "
             "(the API is read-only meanwhile)", site.site.id)
    view = Daemon(site, scene, speed=speed)  # the store only: never started
    view.read_only = True
    server = None
    try:
        server = await _serve(view, api)
        # A standby is a started service (systemd's job is done); its status says which.
        notifier.ready(f"standby for {site.site.name}: waiting for the site lock")
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_S)
            if stopping.is_set() or await asyncio.to_thread(lock.try_acquire):
                return
            view.book.reload()  # what the active daemon wrote meanwhile
    finally:
        if server is not None:
            await server.stop()
        view.db.close()


async def run_with_standby(site: SiteConfig, scene: Scene, *, speed: float,
                           api: tuple[str, int] | None, notifier: Notifier | None = None,
                           ) -> int:
    """`vipctl run` for a site with a standby: wait for the lock, then run as active until a
    signal (0) or until the lock is lost (1)."""
    notifier = notifier or Notifier(None)
    stopping = asyncio.Event()
    stop_on_signals(stopping)
    lock = SiteLock(site.database.url, site.site.id)
    try:
        if not await asyncio.to_thread(lock.try_acquire):
            try:
                await _wait_as_standby(site, scene, lock, speed=speed, api=api,
                                       stopping=stopping, notifier=notifier)
            except (ApiError, AuthError) as exc:
                print(f"error: the HTTP API did not start: {exc}", file=sys.stderr)
                return EXIT_FAILED
            if stopping.is_set():
                return 0
            log.warning("site %s: the active vipctl is gone; this one takes over",
                        site.site.id)
        log.info("active for site %s (holding the site lock)", site.site.id)
        return await _run_active(site, scene, lock, speed=speed, api=api, stopping=stopping,
                                 notifier=notifier)
    finally:
        await asyncio.to_thread(lock.release)


async def _run_active(site: SiteConfig, scene: Scene, lock: SiteLock, *, speed: float,
                      api: tuple[str, int] | None, stopping: asyncio.Event,
                      notifier: Notifier) -> int:
    daemon = Daemon(site, scene, speed=speed)
    daemon.stopping = stopping
    async with daemon:
        try:
            server = await _serve(daemon, api)
        except (ApiError, AuthError) as exc:
            print(f"error: the HTTP API did not start: {exc}", file=sys.stderr)
            return EXIT_FAILED
        # READY=1 again after a standby's is ignored by systemd; the status line changes.
        notifier.ready(f"active for {site.site.name}")
        try:
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), CHECK_S)
                if stopping.is_set():
                    break
                if not await asyncio.to_thread(lock.check):
                    log.critical("site %s: the site lock is lost; stopping, so that the "
                                 "standby alone drives the devices", site.site.id)
                    return EXIT_FAILED
            log.info("stopping")
            notifier.stopping()
        finally:
            if server is not None:
                await server.stop()
    return 0
