"""Event kinds and notification topics are enumerated once (core.vocabulary); both sides speak exactly those."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from licentia.client.events import EventQueue
from licentia.core.vocabulary import PIRACY_EVENT_KINDS, REPORTED_EVENT_KINDS, EventKind, Topic
from licentia.server.evidence.report import kind_names
from licentia.server.notify.messages import _TITLES
from licentia.server.notify.subscriptions import topic_of
from tests.server.helpers import Installation, auth


def test_the_server_takes_exactly_the_kinds_an_application_may_report(client: Any, product: Any) -> None:
    app = Installation(client, product.public_key)
    app.check()
    assert app.credential is not None
    for kind in EventKind:
        event = {"id": f"e-{kind.value}", "kind": kind.value}
        answer = client.post("/v1/events", json={"events": [event]}, headers=auth(app.credential))
        if kind in REPORTED_EVENT_KINDS:
            assert answer.status_code == 200 and answer.json()["accepted"] == 1, kind
        else:
            # check, clone_suspected, invalid_key...: evidence only the server records.
            assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error", kind
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ClientEvent"]
    assert set(schema["properties"]["kind"]["enum"]) == set(REPORTED_EVENT_KINDS)


def test_the_sdk_queues_exactly_the_kinds_the_server_takes(tmp_path: Path) -> None:
    queue = EventQueue(tmp_path)
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    for kind in REPORTED_EVENT_KINDS:
        queue.add(kind, now)
    for kind in set(EventKind) - REPORTED_EVENT_KINDS:
        with pytest.raises(ValueError, match="unknown event kind"):
            queue.add(kind, now)
    assert queue.count() == len(REPORTED_EVENT_KINDS)


def test_every_kind_and_topic_has_its_words_for_people() -> None:
    assert set(kind_names()) == set(EventKind)  # evidence reports name every kind
    assert set(_TITLES) == set(Topic)  # every topic has an email title
    topics = {topic_of({"kind": kind, "data": {"result": "activated"}}) for kind in EventKind}
    assert topics - {None} == set(Topic)
    assert {topic_of({"kind": kind, "data": {}}) for kind in PIRACY_EVENT_KINDS} == {Topic.PIRACY}
