"""The dry run of a visit: every cue with its time, the messages it will send, what it says.

Nothing here touches a device: commands come from each device's codec `encode`, the same
function the executor sends through, and texts from the scene's templates with the guest's
name. A device already in the wanted state is not commanded when the cue runs; the plan
shows what a cue asks for, not what each device happens to report now.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from controller.api.models import VisitOut
from controller.store.visits import Visit
from devices.errors import DeviceError
from devices.model import State, prefixed
from scenes.model import Action, Cue
from scenes.offsets import At, Until
from scenes.timeline import announcements, plan, plan_holds, restore_time

if TYPE_CHECKING:
    from controller.daemon import Daemon


class MessageOut(BaseModel):
    topic: str = Field(description="as on the wire, under the site's topic prefix")
    payload: str
    retain: bool


class DeviceCommands(BaseModel):
    device_id: str
    name: str
    messages: list[MessageOut]
    error: str | None = Field(default=None, description="why this device cannot take the state")


class ActionOut(BaseModel):
    target: str = Field(description="a device or a group")
    state: dict[str, Any]
    devices: list[DeviceCommands]


class AnnouncementOut(BaseModel):
    kind: Literal["announce", "remind"]
    id: str
    intercom: str
    text: str
    priority: int
    lang: str
    audience: list[str] = Field(description="for a reminder: who it is for")


class PlannedCueOut(BaseModel):
    id: str
    description: str
    at: str = Field(description="the point of the visit, e.g. start-45m")
    due: datetime | None = Field(description="null: waiting for its trigger")
    waiting_for: str | None
    late: str = Field(description="late policy: run, skip or run_until <point>")
    deadline: datetime | None = Field(description="a late cue still runs until then")
    when: str | None = Field(default=None,
                             description="its condition as written; null: it always runs")
    step: str | None = Field(description="ok, failed, skipped-late, skipped (its condition), "
                             "running; null: not yet")
    actions: list[ActionOut]
    announcements: list[AnnouncementOut]


class PlannedHoldOut(BaseModel):
    id: str
    description: str
    target: str
    state: dict[str, Any]
    devices: list[str]
    begins: datetime | None
    ends: datetime | None = Field(description="null: not known until a trigger happens")
    waiting_for: str | None


class RestoreOut(BaseModel):
    at: str
    description: str
    due: datetime | None
    waiting_for: str | None
    step: str | None


class PlanOut(BaseModel):
    visit: VisitOut
    speed: float = Field(description="offsets are divided by this (the demo runs fast)")
    cues: list[PlannedCueOut]
    holds: list[PlannedHoldOut]
    restore: RestoreOut


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return None if value is None else value.astimezone(tz)


def _commands(daemon: Daemon, action_target: str, state: State) -> list[DeviceCommands]:
    prefix = daemon.site.mqtt.topic_prefix
    out = []
    for device in daemon.registry.resolve(action_target):
        try:
            device.check(state)
            messages = [MessageOut(topic=prefixed(prefix, m.topic),
                                   payload=m.payload.decode("utf-8", errors="replace"),
                                   retain=m.retain)
                        for m in device.codec.encode(state)]
            out.append(DeviceCommands(device_id=device.id, name=device.name, messages=messages))
        except (DeviceError, ValueError) as exc:
            out.append(DeviceCommands(device_id=device.id, name=device.name, messages=[],
                                      error=str(exc)))
    return out


def _action(daemon: Daemon, action: Action) -> ActionOut:
    state = action.state.as_state()
    return ActionOut(target=action.target, state=dict(state),
                     devices=_commands(daemon, action.target, state))


def _said(daemon: Daemon, cue: Cue, visit: Visit) -> list[AnnouncementOut]:
    out = []
    guest = daemon.engine.guest(visit)
    for intercom, said in announcements(daemon.scene, cue, guest, key=visit.id):
        kind: Literal["announce", "remind"] = "remind" if said.id.endswith(":remind") else \
            "announce"
        audience = list(cue.remind.audience) if kind == "remind" and cue.remind else []
        out.append(AnnouncementOut(kind=kind, id=said.id, intercom=intercom, text=said.text,
                                   priority=said.priority, lang=said.lang, audience=audience))
    return out


def _step(results: dict[str, str | None], key: str) -> str | None:
    if key not in results:
        return None
    return results[key] or "running"


def _end_anchor(daemon: Daemon, until: Until) -> str:
    point: At = daemon.scene.restore.at if until == "end" else until
    return point.anchor


def visit_plan(daemon: Daemon, visit: Visit) -> PlanOut:
    tz, scene, engine = daemon.tz, daemon.scene, daemon.engine
    triggers = engine.triggers_of(visit)
    results = daemon.ledger.results(visit.id)
    cues = [
        PlannedCueOut(
            id=p.cue.id, description=p.cue.description, at=str(p.cue.at),
            due=_local(p.due, tz), waiting_for=p.cue.at.anchor if p.due is None else None,
            late=str(p.cue.late), deadline=_local(p.deadline, tz),
            when=None if p.cue.when is None else str(p.cue.when),
            step=_step(results, p.cue.id),
            actions=[_action(daemon, a) for a in p.cue.actions],
            announcements=_said(daemon, p.cue, visit),
        )
        for p in plan(scene, start=visit.start, triggers=triggers, speed=engine.speed)
    ]
    holds = []
    for ph in plan_holds(scene, start=visit.start, triggers=triggers, speed=engine.speed):
        waiting = ph.hold.start.anchor if ph.begins is None else (
            _end_anchor(daemon, ph.hold.until) if ph.ends is None else None)
        holds.append(PlannedHoldOut(
            id=ph.hold.id, description=ph.hold.description, target=ph.hold.target,
            state=dict(ph.hold.state.as_state()),
            devices=[d.id for d in daemon.registry.resolve(ph.hold.target)],
            begins=_local(ph.begins, tz), ends=_local(ph.ends, tz), waiting_for=waiting))
    restore_at = restore_time(scene, start=visit.start, triggers=triggers, speed=engine.speed)
    restore = RestoreOut(
        at=str(scene.restore.at), description=scene.restore.description,
        due=_local(restore_at, tz),
        waiting_for=scene.restore.at.anchor if restore_at is None else None,
        step=_step(results, "restore"))
    return PlanOut(visit=VisitOut.of(visit, tz), speed=engine.speed, cues=cues, holds=holds,
                   restore=restore)
