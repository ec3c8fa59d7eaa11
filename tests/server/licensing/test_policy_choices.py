"""A license type's choices are enumerated once (policies/choices.py), validated by inclusion, compared by member."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.policies.choices import ExpiryMode, MeterPeriod, OnClone, SeatKind
from licentia.server.policies.knobs import BY_NAME, validate_knobs, validate_meters
from licentia.server.store.models import Policy

SERVER = Path(__file__).parents[3] / "src" / "licentia" / "server"
CHOICES = {"kind": SeatKind, "expiry_mode": ExpiryMode, "on_clone": OnClone}
# Where the words stand as words: their enumeration, and the schema's history (migrations stay as written).
ALLOWED = {SERVER / "policies" / "choices.py"}


@pytest.mark.parametrize("knob", sorted(CHOICES))
def test_each_choice_knob_offers_its_enumeration_and_refuses_anything_else(knob: str) -> None:
    enumeration = CHOICES[knob]
    assert BY_NAME[knob].choices == tuple(enumeration)
    for member in enumeration:
        assert validate_knobs({knob: member.value}) == {knob: member}
    with pytest.raises(ApiError) as refused:
        validate_knobs({knob: "sometimes"})
    assert refused.value.code == ErrorCode.INVALID_POLICY and knob in refused.value.message


def test_a_meter_period_is_one_of_the_calendar_periods() -> None:
    assert validate_meters({"renders": {"limit": 10}}) == {"renders": {"limit": 10, "period": MeterPeriod.MONTH}}
    with pytest.raises(ApiError):
        validate_meters({"renders": {"limit": 10, "period": "fortnight"}})


def test_the_stored_defaults_are_members() -> None:
    columns = Policy.__table__.c
    assert columns.kind.default.arg in tuple(SeatKind)
    assert columns.on_clone.default.arg in tuple(OnClone)
    assert columns.expiry_mode.default.arg in tuple(ExpiryMode)


def test_no_code_compares_a_choice_as_a_literal() -> None:
    words = {member.value for enumeration in (SeatKind, ExpiryMode, OnClone, MeterPeriod) for member in enumeration}
    found = []
    for path in SERVER.rglob("*.py"):
        if path in ALLOWED or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                literals = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                for literal in literals:
                    if isinstance(literal, ast.Constant) and literal.value in words:
                        found.append(f"{path.relative_to(SERVER)}:{node.lineno} {ast.unparse(node)}")
    assert not found, found
