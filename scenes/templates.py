"""Announcement texts that name the guest (P4): `{surname}{honorific}已到访,请各岗位做好接待工作`.

Only whole placeholders from a fixed list are allowed: no attribute access, no index, no
format spec, no conversion, nothing evaluated. Templates are checked when the scene is
loaded; rendering inserts guest data as plain text and never parses it again, so a name
with braces or quotes in it is said as written.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from scenes.errors import TemplateError

# What a template may name. `address` is the addressing form built by address_form().
PLACEHOLDERS = frozenset(
    {"surname", "honorific", "title", "full_name", "party_size", "car_plate", "site", "address"}
)
# Courtesy honorifics; any other honorific (总, 董, 局长) is a title and addresses as one.
COURTESY = ("先生", "女士", "小姐")
# Full titles and the short form said after a surname: 张总经理 is written, 张总 is said.
TITLE_SHORT = {
    "总经理": "总",
    "副总经理": "总",
    "总裁": "总",
    "总监": "总",
    "董事长": "董",
    "董事": "董",
}

GuestValue = str | int | None

_FORMATTER = string.Formatter()


def placeholders(template: str) -> list[str]:
    """The placeholders a template names, in order; TemplateError if it is not allowed."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as e:  # "Single '}' encountered", "unmatched '{'"
        raise TemplateError(f"{e} (write {{{{ and }}}} for literal braces)") from None
    names: list[str] = []
    allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + \
            (f":{spec}" if spec else "") + "}"
        if name not in PLACEHOLDERS:
            raise TemplateError(f"{shown} is not a known placeholder (allowed: {allowed})")
        if spec or conversion:
            raise TemplateError(f"{shown}: no format spec or conversion, write {{{name}}}")
        names.append(name)
    return names


def check_template(template: str) -> None:
    placeholders(template)


def address_form(surname: str, honorific: str = "", title: str = "") -> str:
    """How staff address the guest: 王先生, 李女士, 张总 (honorific 总, or title 总经理)."""
    if honorific in COURTESY:
        return surname + honorific
    as_title = honorific or title
    return surname + TITLE_SHORT.get(as_title, as_title)


def render(template: str, guest: Mapping[str, GuestValue]) -> str:
    """The template with guest data inserted as plain text; missing data is left empty.

    `{address}` is built from surname, honorific and title unless the guest mapping gives it.
    """
    values = {k: "" if v is None else str(v) for k, v in guest.items()}
    if "address" not in values:
        values["address"] = address_form(
            values.get("surname", ""), values.get("honorific", ""), values.get("title", "")
        )
    placeholders(template)
    out: list[str] = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)
