"""The site file's `link.enabled`: on by default, off leaves no link, a bad value is refused
with its line; a standby's read-only view never starts the link."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.yamlconf import ConfigError
from controller.config.site import load_site
from controller.daemon import Daemon
from scenes.loader import load_scene
from tests.broker import Mosquitto
from tests.scenario.rig import site_file


def test_on_by_default_off_by_the_switch_and_a_bad_value_named(tmp_path: Path) -> None:
    path = site_file(tmp_path, Mosquitto(port=1), "p")
    assert load_site(path).link.enabled is True
    text = path.read_text()
    path.write_text(text + "link:\n  enabled: false\n")
    assert load_site(path).link.enabled is False
    path.write_text(text + "link:\n  enabled: maybe\n")
    with pytest.raises(ConfigError) as refused:
        load_site(path)
    line = len(text.splitlines()) + 2
    assert [str(p) for p in refused.value.problems] == [
        f"{path}:{line}: link.enabled: Input should be a valid boolean"]


async def test_a_read_only_daemon_starts_no_link(tmp_path: Path, mosquitto: Mosquitto,
                                                 topic_prefix: str) -> None:
    site = load_site(site_file(tmp_path, mosquitto, topic_prefix))
    scene = load_scene(known_targets=set(site.devices) | set(site.groups))
    daemon = Daemon(site, scene)
    daemon.read_only = True
    async with daemon:
        assert daemon.link is not None and daemon.link.transport.connects == 0
    off = load_site(site_file(tmp_path, mosquitto, topic_prefix)).model_copy(
        update={"link": site.link.model_copy(update={"enabled": False})})
    unlinked = Daemon(off, scene)
    assert unlinked.link is None
    unlinked.db.close()
