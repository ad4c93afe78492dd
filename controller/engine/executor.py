"""Turns scene steps into device commands through the claim table, and keeps holds held.

Every write goes through the ClaimTable: a cue claims, a hold claims with enforcement, the
restore releases, the announcer ducks the music in a layer of its own. The table is saved to
the database before any command is sent, so that a daemon killed half-way through a cue
comes back knowing what it had claimed and what each device was before (the floors), and
re-asserts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from common.tasks import TaskSet
from controller.engine.context import CurrentVisit, current_step, in_step
from controller.engine.failure_text import FailureText, failure_text
from controller.store.database import Database
from controller.store.events import EventLog
from devices.device import Device, DeviceEvent
from devices.errors import DeviceError
from devices.model import CommandResult, State, StateValue, matches
from devices.registry import DeviceRegistry
from scenes.claims import ClaimTable

log = logging.getLogger(__name__)

CLAIMS_KEY = "claims"
# Device events that go to the event log as they are (state reports are too many to keep).
LOGGED_DEVICE_EVENTS = {"command", "retry", "confirmed", "failed", "availability", "garbage"}


class Executor:
    def __init__(
        self,
        *,
        registry: DeviceRegistry,
        events: EventLog,
        db: Database,
        current: CurrentVisit | None = None,
    ) -> None:
        self.registry = registry
        self.events = events
        self.db = db
        self.current = current or CurrentVisit()
        saved = db.load_value(CLAIMS_KEY)
        self.claims = ClaimTable.from_dict(saved) if saved else ClaimTable()
        self._reasserting: set[str] = set()
        # The staff's words for each device whose last command failed (cleared when one
        # is confirmed): the page shows them beside the device.
        self.failure_texts: dict[str, FailureText] = {}
        # What a release is bringing each device back to while its command is in flight:
        # a claim made meanwhile takes it as the floor, not the report it is replacing.
        self._settling: dict[str, dict[str, StateValue]] = {}
        self._tasks = TaskSet("executor", logger=log)
        for device in registry.devices.values():
            device.add_listener(self._on_device_event)

    # --- writing through the claim table ------------------------------------------------

    def _save(self, *, defer: bool = False) -> None:
        """Save the claim table with the database's deferred writes; unless `defer`, commit
        them now (a cue's claim of its step goes in the same commit)."""
        saved = self.claims.to_dict()
        self.db.defer(lambda session: self.db.save_value(CLAIMS_KEY, saved, session))
        if not defer:
            self.db.flush_deferred()

    def effective(self, device_id: str) -> dict[str, StateValue]:
        """What the claims want of a device now (every layer and the baseline)."""
        return dict(self.claims.effective(device_id))

    def drop_layers(self, prefix: str) -> list[str]:
        """Release every layer whose name starts with `prefix`, sending nothing (left behind
        by a crash; the start-up re-assertion sets the devices). Returns the layers."""
        stale = sorted(layer for layer in self.claims.layers() if layer.startswith(prefix))
        for layer in stale:
            self.claims.release(layer)
        if stale:
            self._save()
        return stale

    async def apply(
        self, layer: str, priority: int, target: str, state: State, *, hold: bool,
        visit_id: str | None, step: str,
    ) -> list[CommandResult]:
        """Claim `state` on a device or group for a layer, then bring the devices there."""
        devices = self.registry.resolve(target)
        # What a device was before the scene is what the restore goes back to: right after
        # a start-up, give it the time to answer the state query before claiming over it.
        waiting = [d for d in devices if not d.has_reported]
        if waiting:  # (no gather, no loop turn, when all have: the usual case)
            await asyncio.gather(*(d.wait_reported(d.policy.confirm_timeout) for d in waiting))
        for device in devices:
            # Just after a restore the device may still report what it is being taken away
            # from (the next visit's holds can begin as the last one's restore goes out):
            # that stale report must not become what this claim's release goes back to.
            now = {**device.state, **self._settling.get(device.id, {})}
            self.claims.claim(layer, priority, device.id, state, reported=now, hold=hold)
        # Saved with the next deferred writes, committed off the loop: the commands do not
        # wait for the disk. Lost to a crash in those milliseconds, the claim goes with the
        # step's own claim (the same batch), and the step runs again after the restart.
        self._save(defer=True)
        return await self._converge(devices, state, visit_id=visit_id, step=step)

    async def _converge(
        self, devices: list[Device], attributes: State, *, visit_id: str | None, step: str
    ) -> list[CommandResult]:
        """Send each device the effective value of `attributes` where it differs."""
        jobs = []
        for device in devices:
            effective = self.claims.effective(device.id)
            wanted = {k: effective[k] for k in attributes if k in effective}
            if wanted and (device.assumed or not matches(device.state, wanted)):
                jobs.append(self._command(device, wanted, visit_id=visit_id, step=step))
        return list(await asyncio.gather(*jobs))

    async def _command(
        self, device: Device, wanted: dict[str, StateValue], *, visit_id: str | None, step: str
    ) -> CommandResult:
        try:
            with in_step(step):
                result = await device.command(wanted)
            self._check_hold(device.id)  # a report that came in meanwhile was not looked at
            return result
        except DeviceError as exc:  # e.g. an attribute this device cannot take
            self.events.append("failed", visit_id=visit_id, device_id=device.id,
                               detail={"step": step, "desired": wanted, "reason": str(exc)},
                               result="failed")
            return CommandResult(device.id, wanted, False, 0, 0.0, reason=str(exc))

    async def release(
        self, layers: list[str], *, visit_id: str | None, step: str,
        fallback: Mapping[str, State] | None = None, defer_save: bool = False,
    ) -> tuple[int, dict[str, list[str]]]:
        """Drop layers' claims; set back only what changes.

        What a device was before the scene is unknown when it could not report (an IR
        air conditioner): `fallback` (target → state) says what to set it to then. Returns
        the number of commands, and per device the attributes left as they are for want of
        either. `defer_save`: the claims are saved with the caller's deferred writes.
        """
        reported = {d.id: dict(d.state) for d in self.registry.devices.values()}
        floors = self.claims.to_dict()["floors"]
        claimed: dict[str, set[str]] = {}
        for layer in layers:
            for device_id, state in self.claims.claimed(layer).items():
                claimed.setdefault(device_id, set()).update(state)
        changes: dict[str, dict[str, StateValue]] = {}
        for layer in layers:
            for device_id, state in self.claims.release(layer, reported=reported).items():
                changes.setdefault(device_id, {}).update(state)
        by_device = {d.id: dict(state) for target, state in (fallback or {}).items()
                     for d in self.registry.resolve(target)}
        unknown: dict[str, list[str]] = {}
        for device_id, attributes in claimed.items():
            still = self.claims.effective(device_id)
            for attribute in sorted(attributes):
                if attribute in still or attribute in floors.get(device_id, {}):
                    continue
                if attribute in by_device.get(device_id, {}):
                    changes.setdefault(device_id, {})[attribute] = by_device[device_id][attribute]
                else:
                    unknown.setdefault(device_id, []).append(attribute)
        for device_id, state in changes.items():
            self._settling.setdefault(device_id, {}).update(state)
        jobs = [
            self._set_back(self.registry[device_id], dict(state), visit_id=visit_id, step=step)
            for device_id, state in changes.items()
        ]
        results = await asyncio.gather(*jobs)
        # Saved once the devices are back, not before: killed in between, the restart still
        # finds the layers and what lies under them, and the restore, run again (see
        # Engine._interrupted), sets the devices back. Saved first, it found nothing to
        # release and left the lights and the video on.
        self._save(defer=defer_save)
        return len(results), unknown

    async def _set_back(self, device: Device, wanted: dict[str, StateValue], *,
                        visit_id: str | None, step: str) -> CommandResult:
        """A release's command; until it ends, the device counts as being `wanted`."""
        try:
            return await self._command(device, wanted, visit_id=visit_id, step=step)
        finally:
            settling = self._settling.get(device.id, {})
            for attribute, value in wanted.items():
                if settling.get(attribute) == value:
                    del settling[attribute]
            if not settling:
                self._settling.pop(device.id, None)

    async def baseline(self, target: str, state: State) -> None:
        """The site's everyday state (P3 music): held always, outside visits too."""
        for device in self.registry.resolve(target):
            self.claims.baseline(device.id, state, reported=device.state)
        self._save()

    async def reassert_all(self) -> None:
        """Bring every claimed or baseline device to its effective state (at start-up)."""
        jobs = []
        for device in self.registry.devices.values():
            if device.busy or device.id in self._reasserting:
                continue  # already being brought there; its end checks the holds again
            effective = self.claims.effective(device.id)
            if effective and (device.assumed or not matches(device.state, effective)):
                jobs.append(self._command(device, effective, visit_id=self.current.id,
                                          step="start-up"))
        await asyncio.gather(*jobs)

    # --- holds ----------------------------------------------------------------------------

    def _on_device_event(self, event: DeviceEvent) -> None:
        if event.kind in LOGGED_DEVICE_EVENTS:
            result = {"confirmed": "ok", "failed": "failed"}.get(event.kind)
            step = current_step()
            detail = {**event.detail, "step": step} if step else event.detail
            # Written a moment later, after the command went out and together with the
            # others: 200 lights commanded make 400 of these (bench/, "Performance").
            self.events.append_soon(event.kind, visit_id=self.current.id,
                                    device_id=event.device_id, detail=detail, result=result)
            if event.kind == "failed":
                self._alert_failed(event)
            elif event.kind == "confirmed":
                self.failure_texts.pop(event.device_id, None)
        if event.kind == "state":
            self._check_hold(event.device_id)

    def _alert_failed(self, event: DeviceEvent) -> None:
        """An alert in the staff's words: the device's name, what it was asked, what to do."""
        d = event.detail
        device = self.registry.devices[event.device_id]
        text = failure_text(device.name, d.get("desired") or {}, int(d.get("attempts") or 0),
                            str(d.get("problem") or "no_answer"))
        self.failure_texts[event.device_id] = text
        self.events.append("alert", visit_id=self.current.id, device_id=event.device_id,
                           detail={"reason": d.get("reason"), "device_name": device.name,
                                   "problem": d.get("problem"), "text": text.zh,
                                   "text_en": text.en}, result="failed")

    def _check_hold(self, device_id: str) -> None:
        device = self.registry.devices.get(device_id)
        # While a command is in flight its own reports settle the matter: the command's end
        # looks again (see _command), so two commands never race each other.
        if device is None or device_id in self._reasserting or device.busy:
            return
        held = self.claims.holds_for(device_id)
        if not held or matches(device.state, held):
            return
        self._reasserting.add(device_id)
        reported = {k: device.state.get(k) for k in held}
        self._tasks.spawn(self._reassert(device, held, reported), f"hold:{device_id}")

    async def _reassert(
        self, device: Device, held: Mapping[str, StateValue], reported: Mapping[str, Any]
    ) -> None:
        try:
            log.info("%s reported %s against the held %s: setting it back", device.id,
                     reported, dict(held))
            with in_step("hold"):
                result = await device.command(dict(held))
            self.events.append(
                "hold_reasserted", visit_id=self.current.id, device_id=device.id,
                detail={"reported": dict(reported), "held": dict(held)},
                result="ok" if result.ok else "failed",
            )
        finally:
            self._reasserting.discard(device.id)
        # A report that came in while we were busy may have been wrong again.
        self._check_hold(device.id)

    async def close(self) -> None:
        self.events.flush()  # the device events append_soon still holds
        await self._tasks.stop()
