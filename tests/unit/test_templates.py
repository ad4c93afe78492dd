"""Announcement templates: safe substitution of guest data, refused placeholders (P4)."""

from __future__ import annotations

import pytest

from scenes.errors import TemplateError
from scenes.templates import GuestValue, address_form, placeholders, render

ARRIVAL = "{surname}{honorific}已到访,请各岗位做好接待工作"


def test_arrival_announcement_names_the_guest() -> None:
    assert render(ARRIVAL, {"surname": "王", "honorific": "先生"}) == \
        "王先生已到访,请各岗位做好接待工作"
    assert render(ARRIVAL, {"surname": "李", "honorific": "女士"}) == \
        "李女士已到访,请各岗位做好接待工作"


def test_title_form() -> None:
    assert render("{surname}{title}您好", {"surname": "张", "title": "总"}) == "张总您好"


def test_every_placeholder() -> None:
    guest: dict[str, GuestValue] = {
        "surname": "王", "honorific": "先生", "title": "总经理", "full_name": "王建国",
        "party_size": 3, "car_plate": "沪A·12345", "site": "演示案场"}
    text = "{site}:{full_name}({surname}{honorific},{title})一行{party_size}人,车牌{car_plate}"
    assert render(text, guest) == "演示案场:王建国(王先生,总经理)一行3人,车牌沪A·12345"


def test_missing_data_is_left_empty_and_literal_braces_stay() -> None:
    assert render("{surname}{title}到了 {{ok}}", {"surname": "赵"}) == "赵到了 {ok}"
    assert render("车牌{car_plate}", {"car_plate": None}) == "车牌"


@pytest.mark.parametrize("name", [
    "{surname}", "{0}", "{__class__}", "a'b\"c", "王\n先生", "{surname.__class__}", "%s", "}{",
    "{{", "${site}",
])
def test_guest_data_is_inserted_literally(name: str) -> None:
    assert render(ARRIVAL, {"surname": name, "honorific": "先生"}) == \
        f"{name}先生已到访,请各岗位做好接待工作"
    assert render("{full_name}/{site}", {"full_name": name, "site": name}) == f"{name}/{name}"


@pytest.mark.parametrize(("template", "says"), [
    ("{name}已到访", "{name} is not a known placeholder (allowed: {address}, {car_plate}"),
    ("{}已到访", "{} is not a known placeholder"),
    ("{0}已到访", "{0} is not a known placeholder"),
    ("{surname.__class__}", "{surname.__class__} is not a known placeholder"),
    ("{surname[0]}", "{surname[0]} is not a known placeholder"),
    ("{surname:>10}", "{surname:>10}: no format spec or conversion, write {surname}"),
    ("{surname!r}", "{surname!r}: no format spec or conversion, write {surname}"),
    ("{surname", "expected '}' before end of string (write {{ and }} for literal braces)"),
    ("surname}", "Single '}' encountered"),
    ("{surname{honorific}}", "unexpected '{' in field name"),
])
def test_bad_templates_are_refused(template: str, says: str) -> None:
    with pytest.raises(TemplateError) as info:
        placeholders(template)
    assert says in str(info.value)
    with pytest.raises(TemplateError):
        render(template, {"surname": "王"})


def test_placeholders_in_order() -> None:
    assert placeholders(ARRIVAL) == ["surname", "honorific"]
    assert placeholders("没有占位符 {{literal}}") == []


@pytest.mark.parametrize(("surname", "honorific", "title", "said"), [
    ("王", "先生", "", "王先生"),
    ("李", "女士", "", "李女士"),
    ("陈", "小姐", "", "陈小姐"),
    ("张", "总", "", "张总"),
    ("张", "总经理", "", "张总"),
    ("刘", "董事长", "", "刘董"),
    ("周", "局长", "", "周局长"),
    ("张", "", "总裁", "张总"),
    ("王", "先生", "总经理", "王先生"),  # an explicit courtesy honorific wins
    ("吴", "", "", "吴"),
])
def test_address_form(surname: str, honorific: str, title: str, said: str) -> None:
    assert address_form(surname, honorific, title) == said


def test_address_placeholder() -> None:
    assert render("{address}已到访", {"surname": "张", "honorific": "总经理"}) == "张总已到访"
    assert render("{address}已到访", {"surname": "张", "address": "张董"}) == "张董已到访"
