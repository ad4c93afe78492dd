"""A wheel that works: built from the checkout's files, installed into a fresh virtual
environment outside the checkout, its `vipctl demo` runs a whole visit from a folder that
has no config/ or scenes/ to fall back on: the demo site and the scene are package data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.cli.helpers import ENV, REPO

# The demo at x600: the 45-minute preparation and the one-hour visit in about 15 s.
SPEED = "600"


def checkout_files(into: Path) -> None:
    """What a commit of the checkout would hold (tracked files, and new ones not ignored),
    copied to `into`: no .venv, no build/, no egg-info can leak into the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
        capture_output=True, check=True, timeout=30).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if not source.exists() and not source.is_symlink():  # deleted, not yet committed
            continue
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, into / name, follow_symlinks=False)


def fresh_venv(path: Path) -> Path:
    """A virtual environment without vipctl, whose dependencies come from the checkout's
    .venv: its site-packages on sys.path through a .pth line. Such a line adds the folder
    only; the .pth files inside it (the editable install's finder) are not run, so the
    checkout itself is not importable from here."""
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    Path(purelib, "checkout-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


@pytest.mark.packaging
def test_the_wheel_installed_elsewhere_runs_the_demo(tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the wheel is built from `git ls-files`")
    source, wheels, elsewhere = tmp_path / "source", tmp_path / "wheels", tmp_path / "elsewhere"
    for folder in (source, wheels, elsewhere):
        folder.mkdir()
    checkout_files(source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=120)
    [wheel] = wheels.glob("vipctl-*.whl")

    python = fresh_venv(tmp_path / "venv")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=120)
    where = subprocess.run([str(python), "-c", "import controller; print(controller.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True,
                           timeout=30).stdout
    assert where.startswith(str(tmp_path / "venv")), where

    env = {k: v for k, v in ENV.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    demo = subprocess.run([str(python.parent / "vipctl"), "demo", "--speed", SPEED],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=90,
                          check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    # The timeline, from the packaged demo site and scene, through to the restore.
    assert "cue       p10-air-conditioning: P10 空调提前45分钟开启" in demo.stdout
    assert "trigger   arrival for 王先生, from button:concierge_button" in demo.stdout
    assert "restore   everyday state back" in demo.stdout
    assert "failures: none" in demo.stdout
    assert list(elsewhere.iterdir()) == []  # the demo's database is a temporary one
