"""Site files written by the tests, and the problems loading one gives (file:line: field)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from common.yamlconf import ConfigError
from controller.config.site import load_site

REPO = Path(__file__).resolve().parents[1]

# Six lines of a valid site; the devices of each test start on line 7.
HEAD = """\
site:
  name: 测试案场
  timezone: Asia/Shanghai
mqtt:
  url: mqtt://localhost
devices:
"""

LIGHT = """\
  hall_lights:
    kind: light
    mqtt: {convention: zigbee2mqtt, name: hall_lights}
"""


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """Every problem of a file that must not load, as printed; the error's text is all of them."""
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]
