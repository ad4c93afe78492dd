"""The scene file's schema: cues, holds, baseline and restore, validated once at load.

A scene names devices and groups only by id and speaks only the state vocabulary of
devices/model.py; what a device id means on the wire is the site configuration's business.
When the loader passes a validation context, targets are checked against the site:
`{"known_targets": {ids...}, "target_attributes": {id: attributes it may be set with}}`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from common.yamlconf import FieldError, Loc
from devices.model import CLIMATE_MODES, FAN_SPEEDS, PLAYBACK_STATES, StateValue
from scenes.conditions import DEFAULT_IF_UNKNOWN, Comparison, IfUnknown
from scenes.errors import TemplateError
from scenes.offsets import ANCHORS, TRIGGERS, At, AtField, Late, LateField, UntilField
from scenes.templates import check_template

__all__ = ["ANCHORS", "TRIGGERS", "At", "Late"]

# Identifiers (cue and hold ids) end up in idempotency keys and log lines: keep them plain.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Announcement priorities as devices.model.Announcement has them: 0 lowest, 9 highest.
PRIORITY_RANGE = (0, 9)
# As devices.model.Announcement's defaults: an ordinary announcement, in Mandarin.
DEFAULT_ANNOUNCE_PRIORITY = 5
DEFAULT_LANG = "zh"
# When the devices are checked before a visit, if the scene does not say; and how much
# earlier than the first cue, if that comes first (controller/engine/preflight.py).
DEFAULT_PREFLIGHT = At.parse("start-60m")
PREFLIGHT_LEAD = timedelta(minutes=15)
# The layer a scene's claims take when the file does not say (see scenes/claims.py).
DEFAULT_SCENE_PRIORITY = 50


def fail(kind: str, message: str) -> PydanticCustomError:
    # Passed through the context so that braces in user data are never template syntax.
    return PydanticCustomError(kind, "{message}", {"message": message})


def check_target(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("known_targets")
    if known is not None and value not in known:
        close = difflib.get_close_matches(value, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise fail("unknown_target", f"{value!r} is not a device or group of this site{hint}")
    return value


def check_intercom(value: str, info: ValidationInfo) -> str:
    """A target that must be able to speak (an announcement's, a reminder's intercom)."""
    check_target(value, info)
    intercoms = (info.context or {}).get("intercoms")
    if intercoms is not None and value not in intercoms:
        can = ", ".join(sorted(intercoms)) or "none"
        raise fail("not_an_intercom", f"{value!r} cannot speak: it is not an intercom "
                   f"(this site's intercoms: {can})")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Id = Annotated[str, Field(pattern=ID_PATTERN)]
Priority = Annotated[int, Field(ge=PRIORITY_RANGE[0], le=PRIORITY_RANGE[1])]
Percent = Annotated[StrictInt, Field(ge=0, le=100)]


class StateSpec(Strict):
    """A partial desired state: only the attributes named are set."""

    power: StrictBool | None = None
    brightness: Percent | None = None
    mode: StrictStr | None = None
    setpoint: Annotated[float, Field(strict=True, ge=10, le=35)] | None = None  # °C
    fan: StrictStr | None = None
    playback: StrictStr | None = None
    media: Annotated[StrictStr, Field(min_length=1)] | None = None
    loop: StrictBool | None = None
    volume: Percent | None = None

    @field_validator("mode", "fan", "playback")
    @classmethod
    def _one_of(cls, value: str | None, info: ValidationInfo) -> str | None:
        allowed = {"mode": CLIMATE_MODES, "fan": FAN_SPEEDS, "playback": PLAYBACK_STATES}
        choices = allowed[info.field_name or ""]
        if value is not None and value not in choices:
            raise fail("not_one_of", f"{value!r} is not one of {', '.join(choices)}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> StateSpec:
        if not self.as_state():
            raise fail("empty_state", "name at least one attribute to set")
        return self

    def as_state(self) -> dict[str, StateValue]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def check_attributes(state: StateSpec, info: ValidationInfo) -> StateSpec:
    """Refuse attributes the target cannot take (e.g. a setpoint on a light), if known."""
    allowed = (info.context or {}).get("target_attributes", {}).get(info.data.get("target"))
    if allowed is not None:
        wrong = sorted(set(state.as_state()) - set(allowed))
        if wrong:
            target = info.data["target"]
            can = ", ".join(sorted(allowed)) or "nothing"
            raise fail("bad_attribute", f"{target} cannot be set with {', '.join(wrong)} "
                       f"(it takes {can})")
    return state


def check_text(value: str) -> str:
    try:
        check_template(value)
    except TemplateError as e:
        raise fail("bad_template", str(e)) from None
    return value


class Action(Strict):
    """Set a device or group to a partial state."""

    target: str
    state: StateSpec = Field(alias="set")

    _target = field_validator("target")(check_target)
    _attrs = field_validator("state")(check_attributes)


class Announce(Strict):
    """A broadcast on the staff intercom naming the guest (P4, P12)."""

    text: str
    priority: Priority | None = None  # None: the scene's default
    lang: str | None = None
    intercom: str | None = None  # None: the scene's default intercom

    _text = field_validator("text")(check_text)
    _intercom = field_validator("intercom")(check_intercom)


class Remind(Strict):
    """A timed reminder to a group of staff: said on the intercom and kept in the event log."""

    text: str
    audience: list[Annotated[str, Field(min_length=1)]] = Field(alias="for", min_length=1)
    priority: Priority | None = None
    intercom: str | None = None

    _text = field_validator("text")(check_text)
    _intercom = field_validator("intercom")(check_intercom)

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def check_test(value: Any, info: ValidationInfo) -> Comparison:
    """A condition, its sensor checked against the site when the loader knows it:
    `sensors` (id → what it measures), else at least `known_targets`."""
    if isinstance(value, Comparison):
        return value
    if not isinstance(value, str):
        raise fail("bad_condition", f"{value!r} is not a condition (a text such as "
                   "outdoor_weather.rain == true)")
    try:
        test = Comparison.parse(value)
    except ValueError as e:
        raise fail("bad_condition", str(e)) from None
    context = info.context or {}
    sensors, known = context.get("sensors"), context.get("known_targets")
    if test.device is None:
        return test
    if sensors is not None and test.device not in sensors:
        close = difflib.get_close_matches(test.device, sorted(sensors), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        can = ", ".join(sorted(sensors)) or "none"
        raise fail("not_a_sensor", f"{test.device!r} is not a sensor of this site{hint} "
                   f"(its sensors: {can})")
    if sensors is not None and test.reading not in sensors[test.device]:
        reads = ", ".join(sorted(sensors[test.device]))
        raise fail("not_measured", f"{test.device} does not measure {test.reading} "
                   f"(it measures: {reads})")
    if sensors is None and known is not None and test.device not in known:
        raise fail("unknown_target", f"{test.device!r} is not a device of this site")
    return test


ComparisonField = Annotated[
    Comparison, PlainValidator(check_test), PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["outdoor_weather.rain == true"]})]


class When(Strict):
    """A cue's condition, checked at the cue's time; `if_unknown`: what the cue does when
    there is no reading to judge (its sensor offline, or never heard from)."""

    test: ComparisonField
    if_unknown: IfUnknown = DEFAULT_IF_UNKNOWN

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        return {"test": value} if isinstance(value, str) else value

    def __str__(self) -> str:
        return str(self.test)


class Preflight(Strict):
    """The device check before a visit (controller/engine/preflight.py): at `at` (a point
    before the visit, ahead of its first cue), every device the visit uses is checked, and
    problems are told to `audience` over the scene's intercom while there is time."""

    at: AtField = DEFAULT_PREFLIGHT
    audience: list[Annotated[str, Field(min_length=1)]] = Field(alias="for",
                                                                default_factory=lambda: ["工程部"])
    priority: Priority | None = None
    intercom: str | None = None

    _intercom = field_validator("intercom")(check_intercom)

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("at")
    @classmethod
    def _before_visit(cls, value: At) -> At:
        if not value.before_visit:
            raise fail("preflight_too_late", f"{value} is not before the visit: write a point "
                       "such as start-60m")
        return value


class Cue(Strict):
    """Something done once at a point of the visit: actions, an announcement, a reminder."""

    id: Id
    at: AtField
    late: LateField = Late("skip")
    when: When | None = None  # checked at the cue's time; false: the cue is skipped
    description: str = ""
    actions: list[Action] = Field(default_factory=list)
    announce: Announce | None = None
    remind: Remind | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Cue:
        if not (self.actions or self.announce or self.remind):
            raise fail("empty_cue", "a cue needs at least one of actions, announce, remind")
        return self

    @property
    def before_visit(self) -> bool:
        return self.at.before_visit


class Hold(Strict):
    """A desired state enforced over a window: set back whenever the device reports otherwise."""

    id: Id
    target: str
    state: StateSpec
    start: AtField = Field(alias="from")
    until: UntilField = "end"  # "end": until the scene's restore
    description: str = ""

    _target = field_validator("target")(check_target)
    _attrs = field_validator("state")(check_attributes)

    @model_validator(mode="after")
    def _window(self) -> Hold:
        until, start = self.until, self.start
        if until != "end" and until.anchor == start.anchor and until.offset <= start.offset:
            raise fail("empty_window", f"until {until} is not after from {start}")
        return self


class BaselineEntry(Strict):
    """A state the site keeps always, outside any visit too (P3: the background music)."""

    target: str
    state: StateSpec
    description: str = ""

    _target = field_validator("target")(check_target)
    _attrs = field_validator("state")(check_attributes)


class Restore(Strict):
    """When what the scene changed goes back.

    `unknown`: what to set a device to when what it was before the scene is not known (it
    cannot report, e.g. an air conditioner behind an IR blaster, or it never answered).
    """

    at: AtField
    description: str = ""
    unknown: list[BaselineEntry] = Field(default_factory=list)

    def fallback(self) -> dict[str, dict[str, StateValue]]:
        """target → state, for what no floor says."""
        return {entry.target: entry.state.as_state() for entry in self.unknown}

    @field_validator("at")
    @classmethod
    def _after_start(cls, value: At) -> At:
        if value.before_visit:
            raise fail("restore_too_early", f"the restore at {value} would come before the visit")
        return value


class AnnouncementDefaults(Strict):
    intercom: str  # the intercom device id, e.g. staff_intercom
    priority: Priority = DEFAULT_ANNOUNCE_PRIORITY
    lang: str = DEFAULT_LANG

    _intercom = field_validator("intercom")(check_intercom)


class Scene(Strict):
    name: str
    description: str = ""
    # Below claims.OVERRIDE_PRIORITY (1000): a person's override outranks any scene.
    priority: Annotated[int, Field(ge=1, le=999)] = DEFAULT_SCENE_PRIORITY
    announcements: AnnouncementDefaults | None = None
    baseline: list[BaselineEntry] = Field(default_factory=list)
    cues: list[Cue] = Field(min_length=1)
    holds: list[Hold] = Field(default_factory=list)
    restore: Restore
    preflight: Preflight | None = None  # None: the defaults, at preflight_at

    @model_validator(mode="after")
    def _consistent(self) -> Scene:
        problems = [FieldError(message, at=path) for path, message in self.cross_check()]
        if problems:
            raise FieldError.many(problems)
        return self

    def cross_check(self) -> Iterator[tuple[Loc, str]]:
        """(path, message) for what no single field can see: duplicate ids, late windows."""
        seen: dict[str, str] = {}
        items = [("cues", i, c.id) for i, c in enumerate(self.cues)]
        items += [("holds", i, h.id) for i, h in enumerate(self.holds)]
        for section, i, ident in items:
            if ident in seen:
                yield (section, i, "id"), f"{ident!r} is already the id of {seen[ident]}"
            seen.setdefault(ident, f"{section}[{i}]")
        end = self.restore.at
        first = self._first_cue()
        if self.preflight is not None and first is not None \
                and self.preflight.at.offset >= first.offset:
            yield ("preflight", "at"), (f"{self.preflight.at} is not before the first cue "
                                        f"({first}): the check comes first")
        for i, cue in enumerate(self.cues):
            for field, item in (("announce", cue.announce), ("remind", cue.remind)):
                if item is not None and item.intercom is None and self.announcements is None:
                    message = "no intercom: name one here or in the scene's announcements"
                    yield ("cues", i, field), message
            if cue.actions and cue.at.anchor == end.anchor and cue.at.offset > end.offset:
                yield ("cues", i, "at"), f"actions at {cue.at} would outlast the restore at {end}"
        for i, hold in enumerate(self.holds):
            for field, at in (("from", hold.start), ("until", hold.until)):
                if at != "end" and at.anchor == end.anchor and at.offset > end.offset:
                    yield ("holds", i, field), f"{at} is after the restore at {end}"

    def ordered_cues(self) -> list[Cue]:
        """Cues in visit order: by anchor (start, arrival, show_flat, departure), then offset."""
        return sorted(self.cues, key=lambda c: c.at.sort_key)

    def preparation(self) -> list[Cue]:
        """The cues before the visit (`start` minus something), in order: what "VIP now" runs."""
        return [c for c in self.ordered_cues() if c.before_visit]

    def cues_on(self, anchor: str) -> list[Cue]:
        return [c for c in self.ordered_cues() if c.at.anchor == anchor]

    def targets(self) -> set[str]:
        """Every device or group the scene names, intercoms included."""
        names = {b.target for b in self.baseline} | {h.target for h in self.holds}
        names.update(u.target for u in self.restore.unknown)
        for cue in self.cues:
            names.update(a.target for a in cue.actions)
            names.update(s.intercom for s in (cue.announce, cue.remind) if s and s.intercom)
        if self.announcements is not None:
            names.add(self.announcements.intercom)
        if self.preflight is not None and self.preflight.intercom is not None:
            names.add(self.preflight.intercom)
        return names

    def _first_cue(self) -> At | None:
        return min((c.at for c in self.cues if c.at.anchor == "start"),
                   key=lambda at: at.offset, default=None)

    def preflight_settings(self) -> Preflight:
        """The preflight as written, or the defaults: at start-60m, or PREFLIGHT_LEAD before
        the first cue when that is earlier."""
        if self.preflight is not None:
            return self.preflight
        first = self._first_cue()
        if first is None or DEFAULT_PREFLIGHT.offset < first.offset:
            return Preflight()
        return Preflight(at=At("start", first.offset - PREFLIGHT_LEAD))

    def sensors(self) -> set[str]:
        """Every sensor the scene's conditions read."""
        return {c.when.test.device for c in self.cues if c.when and c.when.test.device}
