"""`vipctl demo --real-media`: the visit with the music, the promo video and the intercom
played by libVLC and espeak-ng (dummy outputs here), the other devices simulated."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from controller.cli.main import app
from controller.config.site import load_site
from controller.demo.media import make_media, simulated, with_real_media
from controller.demo.run import demo_site
from devices.local.tts import inspect_wav
from tests.cli.helpers import group_gone, kill_group, start


def test_the_demo_plays_real_media() -> None:
    # At x600 a 6 s announcement is an hour of procedure: the cues it delays past their
    # moment are skipped as stale (at x1 it delays them by 6 s); what is said is real speech.
    proc = start("demo", "--real-media", "--dummy-outputs", "--no-api", "--speed", "600",
                 "--lead", "8")
    try:
        out, err = proc.communicate(timeout=80)
    finally:
        kill_group(proc)
    assert proc.returncode == 0, out + err
    assert group_gone(proc)
    assert "media: played by the daemon (libVLC, espeak-ng; dummy outputs)" in out
    assert re.search(r"simulators: 8 devices", out)  # the three media devices are not
    summary = out[out.index("Summary"):]
    said = dict(re.findall(r"«(.+) \((\d+\.\d) s of audio\)»", summary))
    assert len(said) >= 2 and all(3 < float(s) < 10 for s in said.values()), said
    assert "failures: none" in summary and "restore: done" in summary
    assert re.search(r"background_music: media/music playing, \d+ items begun \(loops\), "
                     r"0 restarts, volume 30", summary)
    loops = re.search(r"vip_room_video: .* (\d+) items begun", summary)
    assert loops and int(loops.group(1)) >= 2  # the promo looped
    # The music went down for the announcements and back up.
    assert re.search(r"command\s+background_music ← volume=10", out)
    assert re.search(r"confirmed background_music reports volume=30", out)
    assert "nothing left running" in out


def test_real_media_site_and_options(tmp_path: Path) -> None:
    make_media(tmp_path)
    tune = inspect_wav(tmp_path / "media" / "music" / "01.wav")
    assert tune.duration > 1 and tune.rms > 0.05
    assert (tmp_path / "media" / "promo.mp4").read_bytes().startswith(b"YUV4MPEG2 ")
    site = with_real_media(load_site(demo_site()), tmp_path, dummy=True)
    assert sorted(d for d, s in site.devices.items() if s.local is not None) == [
        "background_music", "staff_intercom", "vip_room_video"]
    assert "background_music" not in simulated(site)
    assert site.devices["staff_intercom"].duck == {"background_music": 10}
    assert site.devices["staff_intercom"].name == "员工对讲"  # the rest of the entry kept
    refused = CliRunner().invoke(app, ["demo", "--dummy-outputs"])
    assert refused.exit_code == 2
    assert "--dummy-outputs: only with --real-media" in refused.stderr
