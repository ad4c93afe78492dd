"""Steps a killed daemon claimed and never finished (found by the chaos campaign).

A SIGKILL while the restore releases its claims (it waits for the devices' confirmations,
and its claim is committed meanwhile) left the visit departing for good, its lights held
on; a SIGKILL while announcements waited on the intercom's queue lost them with no word
anywhere. The restart now runs the restore again and reports the lost words with an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from controller.daemon import teardown_of
from controller.store.book import VisitBook
from controller.store.database import open_database
from controller.store.ledger import StepLedger
from controller.store.requests import VisitRequest
from controller.store.visits import VisitStatus
from scenes.loader import load_scene
from tests.broker import Mosquitto
from tests.scenario.rig import site_rig
from tests.waiting import eventually

S = VisitStatus
SPEED = 600.0


def crashed_mid_visit(tmp_path: Path) -> str:
    """The database as a daemon killed during a departure leaves it: departing, the
    departure's announcement and the restore claimed, neither finished."""
    db = open_database(f"sqlite:///{tmp_path / 'vipctl.db'}", "demo")  # the demo site's id
    book = VisitBook(db, tz=datetime.now().astimezone().tzinfo,  # type: ignore[arg-type]
                     teardown=teardown_of(load_scene()) / SPEED)
    visit = book.book(VisitRequest.model_validate({
        "surname": "王", "honorific": "先生",
        "start": datetime.now().astimezone() - timedelta(seconds=3)}), "test")
    for status in (S.PREPARING, S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING):
        book.set_status(visit.id, status)
    ledger = StepLedger(db)
    for key in ("f1-arrival", "f7-show-flat"):  # said before the crash
        assert ledger.claim(visit.id, key)
        ledger.mark(visit.id, key, "ok")
    for key in ("f13-departure", "restore"):
        assert ledger.claim(visit.id, key)
    db.close()
    return visit.id


async def test_restart_finishes_the_restore_and_reports_lost_words(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    visit_id = crashed_mid_visit(tmp_path)
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        await eventually(lambda: rig.engine.book.get(visit_id).status is S.DONE)
        alerts = [e for e in rig.daemon.events.query(visit_id=visit_id, limit=100)
                  if e.kind == "alert"]
        assert [(e.detail["step"], e.detail["ids"], e.result) for e in alerts] == [
            ("f13-departure", [f"{visit_id}:f13-departure:announce"], "failed")]
        assert rig.said() == []  # nothing repeated
        results = rig.daemon.ledger.results(visit_id)
        assert (results["restore"], results["f13-departure"]) == ("ok", "failed")


def words_queued_after_the_visit(tmp_path: Path) -> str:
    """A visit already over (the restore ran) whose last words were still waiting on the
    intercom's queue when the daemon was killed: claimed, never finished."""
    db = open_database(f"sqlite:///{tmp_path / 'vipctl.db'}", "demo")  # the demo site's id
    book = VisitBook(db, tz=datetime.now().astimezone().tzinfo,  # type: ignore[arg-type]
                     teardown=teardown_of(load_scene()) / SPEED)
    visit = book.book(VisitRequest.model_validate({
        "surname": "李", "honorific": "女士",
        "start": datetime.now().astimezone() - timedelta(seconds=5)}), "test")
    for status in (S.PREPARING, S.ARRIVED, S.AT_SHOW_FLAT, S.DEPARTING, S.DONE):
        book.set_status(visit.id, status)
    ledger = StepLedger(db)
    for key in ("f1-arrival", "f7-show-flat", "f13-departure", "restore"):
        assert ledger.claim(visit.id, key)
    ledger.mark(visit.id, "f1-arrival", "ok")
    ledger.mark(visit.id, "restore", "ok")
    db.close()
    return visit.id


async def test_words_lost_after_the_visit_was_over_are_reported(
    tmp_path: Path, mosquitto: Mosquitto, topic_prefix: str
) -> None:
    visit_id = words_queued_after_the_visit(tmp_path)
    async with site_rig(tmp_path, mosquitto, topic_prefix, speed=SPEED) as rig:
        alerts = [e for e in rig.daemon.events.query(visit_id=visit_id, limit=100)
                  if e.kind == "alert"]
        assert sorted(e.detail["ids"][0] for e in alerts) == [
            f"{visit_id}:f13-departure:announce", f"{visit_id}:f7-show-flat:announce"]
        assert rig.engine.book.get(visit_id).status is S.DONE
        assert rig.said() == []
