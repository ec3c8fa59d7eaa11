"""The piracy risk list: the same scores as each subject's own, from a fixed number of indexed queries."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from licentia.core.clock import ManualClock
from licentia.server.demo import fill
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.evidence.triage import SIGNALS, flagged

# signals, license members (2), events by installation, by license, installations, licenses, products, customers
STATEMENTS = 9


@pytest.fixture
def history(engine: Any, clock: ManualClock, product: Any) -> Any:
    """A demo history of 400 installations over 40 days: copies, never-issued keys, activations."""
    with engine.begin() as conn:
        fill(conn, product="acme", clock=clock, rng=random.Random(3), count=400, days=40)
    return engine


def test_risk_list_scores_match_each_subjects_own_score(history: Any) -> None:
    with history.connect() as conn:
        rows = flagged(conn, limit=1000)
        assert len(rows) >= 5, "the demo history has copies and never-issued keys"
        assert [r.risk.score for r in rows] == sorted((r.risk.score for r in rows), reverse=True)
        for row in rows:
            subject = license_subject(conn, row.ref) if row.kind == "license" else device_subject(conn, row.ref)
            assert assess(subject) == row.risk, row


def test_risk_list_reads_a_fixed_number_of_statements_not_one_per_subject(history: Any) -> None:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(history, "before_cursor_execute", count)
    try:
        with history.connect() as conn:
            rows = flagged(conn, limit=1000)
    finally:
        sa.event.remove(history, "before_cursor_execute", count)
    assert len(rows) > STATEMENTS
    assert len(seen) <= STATEMENTS


def test_signal_events_are_found_through_the_kind_index_not_a_table_scan(history: Any) -> None:
    if history.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL's planner scans tables this small")
    with history.connect() as conn:
        sql = str(SIGNALS.compile(history, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_events_kind" in plan, plan
    assert "SCAN events" not in plan, plan
