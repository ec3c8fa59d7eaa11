"""A report's timeline: the newest events, read a month at a time, with the devices that named the key."""

from __future__ import annotations

import datetime as dt

import pytest

from licentia.server.evidence import subjects
from licentia.server.evidence.subjects import device_subject, license_subject
from tests.conftest import START
from tests.server.evidence.history import History


@pytest.fixture
def history(engine, product):
    return History(engine, product)


def test_a_long_history_keeps_the_newest_events_across_months_in_order(engine, history, monkeypatch):
    monkeypatch.setattr(subjects, "MAX_EVENTS", 25)
    lic = history.license()
    owner = history.device(lic.id, START)
    for month in range(4):  # ten events a month over four months, oldest first
        for n in range(10):
            history.event(owner, "usage", at=START + dt.timedelta(days=31 * month, hours=n), license_id=lic.id)
    # A copy refused a seat in the newest month: it names the key, and its own events come with it.
    copy = history.device(None, START + dt.timedelta(days=95))
    history.event(copy, "install", at=START + dt.timedelta(days=95))
    history.event(copy, "activation_refused", at=START + dt.timedelta(days=95, hours=1), license_id=lic.id)
    with engine.connect() as conn:
        subject = license_subject(conn, str(lic.id))
    times = [(e.received_at, e.id) for e in subject.events]
    assert len(subject.events) == 25 and subject.truncated
    assert times == sorted(times)  # oldest first, as the report reads
    assert subject.events[-1].kind == "activation_refused" and subject.events[-2].kind == "install"
    assert subject.events[0].received_at == START + dt.timedelta(days=31 * 1, hours=7)  # the 23 newest of the owner's
    assert {d.id for d in subject.devices} == {owner, copy}


def test_a_short_history_is_whole_and_not_cut(engine, history):
    lic = history.license()
    device = history.device(lic.id, START)
    for month in range(3):
        history.event(device, "usage", at=START + dt.timedelta(days=40 * month), license_id=lic.id)
    with engine.connect() as conn:
        by_license = license_subject(conn, str(lic.id))
        by_device = device_subject(conn, device)
    assert [e.received_at for e in by_license.events] == [START + dt.timedelta(days=40 * m) for m in range(3)]
    assert not by_license.truncated and [e.id for e in by_device.events] == [e.id for e in by_license.events]
