"""The YAML loader on its own, as the scene files use it too: lines into lists, anchors,
unsafe tags, and mangled files that give problems, never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, model_validator

from common.yamlconf import ConfigError, FieldError, Problem, load_model, load_model_from_text
from controller.config.site import SiteConfig
from tests.sitefiles import HEAD, LIGHT, REPO, problems, write

# --- the loader on its own, as the scene files will use it -----------------------------------


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: int
    say: str = ""


class Scene(BaseModel):
    model_config = ConfigDict(extra="forbid")
    known: list[str]
    steps: list[Step]

    @model_validator(mode="after")
    def _even(self) -> Scene:
        odd = [FieldError(f"step {i} is odd", at=("steps", i, "at"))
               for i, step in enumerate(self.steps) if step.at % 2]
        if odd:
            raise FieldError.many(odd)
        return self


def test_field_error_points_into_a_list_item() -> None:
    text = "known: [a]\nsteps:\n  - at: 2\n  - at: 3\n    say: hi\n  - {at: 5}\n"
    with pytest.raises(ConfigError) as caught:
        load_model_from_text(text, Scene, filename="scene.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "scene.yaml:4: steps[1].at: step 1 is odd",
        "scene.yaml:6: steps[2].at: step 2 is odd",
    ]


def test_anchors_and_merge_keys_keep_explicit_values() -> None:
    text = "known: &k [a, b]\nsteps:\n  - &base {at: 2, say: hi}\n  - <<: *base\n    at: 4\n"
    scene = load_model_from_text(text, Scene, filename="scene.yaml")
    assert [(s.at, s.say) for s in scene.steps] == [(2, "hi"), (4, "hi")]


def test_recursive_alias_is_a_problem_not_a_crash() -> None:
    with pytest.raises(ConfigError, match=r"scene\.yaml:1: known"):
        load_model_from_text("known: &a [*a]\nsteps: []\n", Scene, filename="scene.yaml")


def test_unsafe_and_unknown_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "known: !!python/object/apply:os.system ['true']\nsteps: []\n")
    with pytest.raises(ConfigError, match=r"site.yaml:1: known: unsupported YAML tag .*python"):
        load_model(path, Scene)
    path = write(tmp_path, "known: [a]\nsteps:\n  - at: !!python/name:os.system\n")
    with pytest.raises(ConfigError, match=r"site.yaml:3: YAML syntax error: .*python/name"):
        load_model(path, Scene)


def test_problem_formatting() -> None:
    assert str(Problem("a.yaml", 3, "x.y", "bad")) == "a.yaml:3: x.y: bad"
    assert str(Problem("a.yaml", None, "", "file not found")) == "a.yaml: file not found"
    assert str(ConfigError([Problem("a", 1, "f", "m"), Problem("a", 2, "g", "n")])) == (
        "a:1: f: m\na:2: g: n"
    )


def test_site_config_model_validates_from_text_too() -> None:
    config = load_model_from_text(HEAD + LIGHT, SiteConfig, filename="inline.yaml")
    assert list(config.devices) == ["hall_lights"]


def test_control_characters_and_odd_keys_are_problems(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + LIGHT + "    name: a\x00b\n")
    assert problems(path) == [f"{path}:10: character #x0000 is not allowed in YAML"]
    path = write(tmp_path, HEAD + "  !!set a: 1\n")
    assert problems(path) == [f"{path}:7: devices: a key cannot be a set"]


# Fragments a hand-edited file might gain by mistake, YAML's sharper edges among them.
GARBAGE = ["{", "}", "[", "]", ":", "- ", "&a ", "*a", "<<: *a\n", "!!set ", "!!binary ", "~",
           "\t", "'", '"', "yes", ".nan", "? ", "---\n", "\x00", "!foo ", "2024-01-01", "|\n"]


def test_mangled_files_give_problems_never_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setenv("VIPCTL_MQTT_PASSWORD", "x")
    original = (REPO / "config" / "example-site.yaml").read_text(encoding="utf-8")
    rng = random.Random(20261128)
    refused = 0
    for _ in range(300):
        text = original
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            if rng.random() < 0.6:
                text = text[:at] + rng.choice(GARBAGE) + text[at:]
            else:
                text = text[:at] + text[at + rng.randint(1, 20):]
        found: list[Problem] = []
        try:
            load_model_from_text(text, SiteConfig, filename="mangled.yaml")
        except ConfigError as exc:
            found = exc.problems
            refused += 1
        assert all(p.line is None or 1 <= p.line <= text.count("\n") + 1 for p in found)
    assert refused > 150  # the mangling really breaks most files
