"""Every result the step ledger can hold has a label on the concierge page, in both languages:
without one the timeline shows the raw key (`step.skipped`) to staff."""

from __future__ import annotations

import re
from pathlib import Path

import controller.api.web as web
from controller.store.ledger import STEP_RESULTS

I18N = Path(web.__file__).parent / "static" / "i18n.js"


def _step_labels() -> list[set[str]]:
    # i18n.js holds one dictionary per language, in order: zh, then en.
    text = I18N.read_text(encoding="utf-8")
    blocks = re.split(r"\n\s*en\s*:\s*\{", text, maxsplit=1)
    assert len(blocks) == 2, "i18n.js no longer has an `en:` dictionary after the Chinese one"
    return [set(re.findall(r'"step\.([\w-]+)"\s*:', block)) for block in blocks]


def test_every_step_result_has_a_label_in_chinese_and_english() -> None:
    zh, en = _step_labels()
    for result in STEP_RESULTS:
        assert result in zh, f"no Chinese label for step.{result}"
        assert result in en, f"no English label for step.{result}"
