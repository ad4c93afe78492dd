"""Load a YAML file into a pydantic model; every error names the file, the line and the field.

    site.yaml:14: devices.hall_ac.mqtt.convention: 'tasmot' is not one of tasmota, zigbee2mqtt, ...

The YAML is composed into PyYAML's node tree (SafeLoader, so no tags that run code), turned
into plain dicts and lists while remembering the line of every mapping key and sequence item,
and then validated once with `model.model_validate(data, context=context)`. Each pydantic error's
`loc` is mapped back to the nearest line that was seen in the file.

For schema authors (the site file, the scene files): a validator that wants to blame a part
of the value it checks, not the whole value, raises `FieldError` with `at=` the path relative
to the value being validated: in a model validator of the top-level model,
`FieldError("unknown device 'x'", at=("groups", "all_lights", 2))` is reported at the line of
the third member of `groups.all_lights`. Report several at once with `FieldError.many([...])`.
Any other ValueError is reported at the validated value itself. Missing fields in `at` are
fine: the line falls back to the nearest enclosing key.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError, ValidationInfo

from common.errors import VipctlError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]  # a path as pydantic names it: keys and list indexes
_Path = tuple[typing.Hashable, ...]  # a path in the file: YAML keys can also be numbers, dates...

# YAML's merge key (`<<: *defaults`): its value is merged, never a key of its own.
_MERGE_TAG = "tag:yaml.org,2002:merge"
# The only collection tags accepted: plain mappings and lists (no !!set, no !!python/...).
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
# Aliases can make a small file expand exponentially ("billion laughs"); no real config nears this.
_MAX_NODES = 100_000
# Keys printed bare in a field path; anything else is quoted: devices["Hall AC"].
_PLAIN_KEY = re.compile(r"^[\w-]+$")
# Pydantic error types meaning "wanted a mapping here".
_MAPPING_TYPES = {"model_type", "model_attributes_type", "dict_type"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: where, which field, and what."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        head = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{head}: {self.field}: {self.message}" if self.field else f"{head}: {self.message}"


class ConfigError(VipctlError):
    """A file could not be loaded; `problems` says every reason found, in line order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FieldError(ValueError):
    """Raised from a validator to blame `at`, a path below the value being validated."""

    def __init__(self, message: str, *, at: Loc = ()) -> None:
        super().__init__(message)
        self.issues: list[tuple[Loc, str]] = [(tuple(at), message)]

    @classmethod
    def many(cls, errors: Iterable[FieldError]) -> FieldError:
        """One exception carrying every issue of `errors` (pydantic takes one per validator)."""
        issues = [issue for error in errors for issue in error.issues]
        combined = cls("; ".join(message for _, message in issues))
        combined.issues = issues
        return combined


def load_model(path: Path, model: type[M], *, context: dict[str, Any] | None = None) -> M:
    """Read and validate one YAML file. Raises ConfigError."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([Problem(filename, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(filename, None, "", "is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (bad byte at offset {exc.start})"
        raise ConfigError([Problem(filename, None, "", message)]) from None
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
        raise ConfigError([Problem(filename, None, "", message)]) from None
    return load_model_from_text(text, model, filename=filename, context=context)


def load_model_from_text(
    text: str, model: type[M], *, filename: str, context: dict[str, Any] | None = None
) -> M:
    """Validate YAML text as if it were read from `filename`. Raises ConfigError."""
    data, lines = _parse(text, filename)
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = _problems(exc, model, data, lines, filename)
        raise ConfigError(problems) from None


# --- YAML: plain data plus the line of every key and item ----------------------------------


class _Reader:
    def __init__(self, filename: str, loader: yaml.SafeLoader) -> None:
        self.filename = filename
        self.loader = loader
        self.lines: dict[_Path, int] = {}
        self.problems: list[Problem] = []
        self._active: set[int] = set()
        self._count = 0

    def build(self, node: yaml.Node, path: _Path) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        self._count += 1
        if self._count > _MAX_NODES:
            raise yaml.YAMLError(f"more than {_MAX_NODES} values (aliases expanding?)")
        if id(node) in self._active:
            self._problem(node, path, "an alias refers to a value that contains it")
            return None
        self._active.add(id(node))
        try:
            if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
                self._problem(node, path, f"unsupported YAML tag {node.tag}")
                return None
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            # A scalar: its resolved tag decides whether it is a str, int, float, bool or null.
            return self.loader.construct_object(node, deep=True)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: _Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a key must be a plain value, not a list or mapping")
                continue
            key = self.loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, typing.Hashable):
                self._problem(key_node, path, f"a key cannot be a {type(key).__name__}")
                continue
            if key in first_line:
                message = f"duplicate key {key!r} (first defined at line {first_line[key]})"
                self.problems.append(Problem(self.filename, line, _format(*path, key), message))
                continue
            first_line[key] = line
            self.lines.setdefault((*path, key), line)
            result[key] = self.build(value_node, (*path, key))
        # `<<: *a` or `<<: [*a, *b]`: explicit keys win, then earlier sources over later ones.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self._problem(source, path, "'<<' merges only mappings")
                    continue
                for key, value in self._mapping(source, path).items():
                    result.setdefault(key, value)
        return result

    def _problem(self, node: yaml.Node, path: _Path, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append(Problem(self.filename, line, _format(*path), message))


def _parse(text: str, filename: str) -> tuple[Any, dict[_Path, int]]:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character; PyYAML checks them up front
        at = text.count("\n", 0, exc.position) + 1
        message = f"character #x{exc.character:04x} is not allowed in YAML"
        raise ConfigError([Problem(filename, at, "", message)]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError([Problem(filename, None, "", "the file is empty")])
        reader = _Reader(filename, loader)
        data = reader.build(root, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "unreadable"
        if exc.problem and exc.context:
            start = exc.context_mark.line + 1 if exc.context_mark else None
            where = f" that starts at line {start}" if start not in (None, line) else ""
            what += f" ({exc.context}{where})"
        raise ConfigError([Problem(filename, line, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(filename, None, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise ConfigError([Problem(filename, None, "", "nested too deeply")]) from None
    finally:
        loader.dispose()
    if reader.problems:
        raise ConfigError(reader.problems)
    return data, reader.lines


# --- pydantic errors, for people --------------------------------------------------------------


def _problems(
    exc: ValidationError, model: type[BaseModel], data: Any, lines: dict[_Path, int], filename: str
) -> list[Problem]:
    seen: dict[tuple[int | None, str, str], Problem] = {}
    for error in exc.errors():
        for suffix, message in _explain(error, model):
            path = (*_data_path(tuple(error["loc"]), data), *suffix)
            line = _nearest_line(path, lines)
            problem = Problem(filename, line, _format(*path), message)
            seen.setdefault((line, problem.field, message), problem)
    return sorted(seen.values(), key=lambda p: p.line or 0)


def _nearest_line(path: Loc, lines: dict[_Path, int]) -> int | None:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _explain(error: Any, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """(path below the error's loc, message) pairs for one pydantic error."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), FieldError) and ctx["error"].issues:
        return ctx["error"].issues  # type: ignore[no-any-return]
    if kind == "union_tag_invalid":
        expected = ", ".join(re.findall(r"'([^']*)'", ctx["expected_tags"]))
        return [((_unquote(ctx["discriminator"]),), f"{ctx['tag']!r} is not one of {expected}")]
    if kind == "union_tag_not_found":
        field = _unquote(ctx["discriminator"])
        tags = _tags(_type_at(model, loc), field)
        choices = f" (one of {', '.join(tags)})" if tags else ""
        return [((field,), f"required field missing{choices}")]
    if kind == "extra_forbidden":
        allowed = _fields(_type_at(model, loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return [((), f"unknown field{hint}{listed}")]
    if kind == "missing":
        return [((), "required field missing")]
    if kind == "literal_error":
        values = re.findall(r"'([^']*)'", ctx["expected"]) or [ctx["expected"]]
        return [((), f"{error['input']!r} is not one of {', '.join(values)}")]
    if kind in _MAPPING_TYPES:
        return [((), f"expected a mapping (key: value), got {_describe(error['input'])}")]
    if kind == "string_type" and isinstance(error["input"], int | float):
        # YAML reads 123456 or 1.10 as a number; the value itself may be a secret: not shown.
        got = "true/false" if isinstance(error["input"], bool) else "a number"
        return [((), f"expected text, got {got}; put it in quotes")]
    if kind == "list_type":
        return [((), f"expected a list, got {_describe(error['input'])}")]
    message = str(error["msg"])
    return [((), message.removeprefix("Value error, ").removeprefix("Assertion failed, "))]


def _data_path(loc: Loc, data: Any) -> Loc:
    """The error's loc without pydantic's own steps (union tags, '[key]'), following the data."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif i == len(loc) - 1 and isinstance(node, dict) and part != "[key]":
            node = None  # a missing field: named, although the data has no such key
        else:
            continue  # a union member or a dict-key marker, not a step in the file
        path.append(part)
    return tuple(path)


def _format(*path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{str(part)!r}]"
    return out


def _unquote(text: str) -> str:
    return text.strip("'\"")


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


# --- the model's own shape, for "allowed: ..." lists -------------------------------------------


def _normal(tp: Any) -> Any:
    """Strip Annotated and Optional, which add no step to pydantic's loc."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif _is_union(tp) and len(members := _members(tp)) == 1:
            tp = members[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _members(tp: Any) -> list[Any]:
    return [_normal(arg) for arg in get_args(tp) if arg is not type(None)]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _type_at(model: Any, loc: Loc) -> Any:
    tp = _normal(model)
    for part in loc:
        if _is_model(tp):
            fields = {(f.alias or name): f.annotation for name, f in tp.model_fields.items()}
            tp = fields.get(str(part))
        elif get_origin(tp) is dict:
            tp = get_args(tp)[0 if part == "[key]" else 1]
        elif get_origin(tp) in (list, tuple, set, frozenset):
            tp = get_args(tp)[0]
        elif _is_union(tp):  # pydantic names the member taken: its tag or its type name
            tp = next((m for m in _members(tp) if part in _own_tags(m) or _name(m) == part), None)
        else:
            return None
        tp = _normal(tp)
    return tp


def _own_tags(tp: Any) -> set[Any]:
    if not _is_model(tp):
        return set()
    return {v for f in tp.model_fields.values() if get_origin(f.annotation) is Literal
            for v in get_args(f.annotation)}


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", "")


def _fields(tp: Any) -> list[str]:
    return [f.alias or name for name, f in tp.model_fields.items()] if _is_model(tp) else []


def _tags(tp: Any, field: str) -> list[str]:
    if not _is_union(tp):
        return []
    tags: list[str] = []
    for member in _members(tp):
        if _is_model(member) and field in member.model_fields:
            tags.extend(str(v) for v in get_args(member.model_fields[field].annotation))
    return tags


def beside_file(value: Path, info: ValidationInfo) -> Path:
    """`value` as written in a file: a relative path is relative to that file's folder (the
    validation context's `base_dir`), not to wherever the program was started."""
    if value.is_absolute():
        return value
    return Path((info.context or {}).get("base_dir") or Path.cwd()) / value
