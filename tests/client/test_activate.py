"""activate/deactivate, values, feedback, releases and facts against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from licentia.client import InvalidKey, ServerRefused
from licentia.client.facts import collect_facts, escape
from tests.client.conftest import FakeMachine, app, events_of, server_db
from tests.conftest import LiveServer


def issue_key(server: LiveServer, *extra: str) -> str:
    done = server.cli("license", "issue", "--product", "my-app", "--email", "a@b.c", *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_activation_registers_the_device_with_its_features(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    key = issue_key(server, "--feature", "pro")
    lic = app(server, tmp_path / "data", machine)
    assert lic.check().state == "trial"
    status = lic.activate(key.lower().replace("-", " "))  # typed loosely: normalised first
    assert status.allowed and status.state == "registered" and status.has_feature("pro")
    offline = lic.check(online=False)
    assert offline.state == "registered" and offline.features == ("pro",)
    assert lic.check().state == "registered"
    registers = events_of(server, status.device or "", "register")
    assert len(registers) == 1  # recorded by the server itself, not by the SDK
    assert len(events_of(server, status.device or "", "usage")) == 1  # first registered check
    back = lic.deactivate()
    assert back.state == "trial" and back.reason == "deactivated"


def test_activation_on_first_run_gets_a_credential_first(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    status = app(server, tmp_path / "data", machine).activate(issue_key(server))
    assert status.state == "registered"


def test_a_typo_is_caught_offline_with_prefix_only_evidence(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    key = issue_key(server)
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    lic = app(server, tmp_path / "data", machine)
    with pytest.raises(InvalidKey, match="typo"):
        lic.activate(typo)
    queued = lic.queue.pending()
    assert [e["kind"] for e in queued] == ["register"]
    assert queued[0]["data"] == {"key_prefix": key.replace("-", "")[:5], "result": "typo"}
    assert key.replace("-", "")[5:10] not in json.dumps(queued)  # never the whole key
    device = lic.check().device  # the next online check delivers it
    assert lic.queue.count() == 0
    assert [json.loads(e[2])["result"] for e in events_of(server, device or "", "register")] == ["typo"]


def test_server_refusals_carry_their_code(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "data", machine)
    never_issued = "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2"
    from licentia.core.licensekeys import ALPHABET, _check_char

    body = never_issued.replace("-", "")[:24]
    forged = body + _check_char(body)
    assert set(forged) <= set(ALPHABET)
    with pytest.raises(ServerRefused) as refused:
        lic.activate(forged)
    assert refused.value.code == "invalid_key"
    revoked_key = issue_key(server)
    listing = server.cli("license", "list", "--product", "my-app", "--prefix", revoked_key[:5])
    license_id = listing.stdout.split()[0]
    assert server.cli("license", "revoke", license_id).returncode == 0
    with pytest.raises(ServerRefused) as gone:
        lic.activate(revoked_key)
    assert gone.value.code == "license_revoked"


def test_a_move_past_the_transfer_limit_is_refused_with_when_the_next_is_allowed(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    import datetime as dt

    from licentia.core.clock import from_iso
    from licentia.core.vocabulary import ClientErrorCode

    key = issue_key(server, "--max-devices", "1", "--set", "transfer_limit=1", "--set", "transfer_period_days=7")
    here = app(server, tmp_path / "a", machine)
    there = app(server, tmp_path / "b", FakeMachine(tmp_path / "other", disk="OTHER-DISK", cpu="i5-7200U"))
    assert here.activate(key).state == "registered"
    here.deactivate()
    assert there.activate(key).state == "registered"  # the one move the type allows in 7 days
    there.deactivate()
    with pytest.raises(ServerRefused) as refused:
        here.activate(key)
    error = refused.value
    assert (error.code, error.status) == (ClientErrorCode.TRANSFER_LIMIT, 409)
    next_at = from_iso(error.details["next_transfer_at"])
    assert dt.timedelta(days=6, hours=23) < next_at - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    assert error.retry_after is not None and 6 * 86400 < error.retry_after <= 7 * 86400
    assert there.activate(key).state == "registered"  # the computer that gave the seat back takes it again


def test_recognition_never_voids_the_credential_of_an_installation_still_checking_in(
    server: LiveServer, machine: FakeMachine, tmp_path: Path
) -> None:
    first = app(server, tmp_path / "data", machine)
    device = first.check().device
    # A reinstall on a formatted machine (state and escrow gone) is a new installation on the same
    # machine; the old credential stays valid.
    wiped = tmp_path / "copy"
    wiped.mkdir()
    (wiped / "state.json").write_bytes((tmp_path / "data" / "state.json").read_bytes())
    (tmp_path / "data" / "state.json").unlink()
    first.escrow.forget()
    assert app(server, tmp_path / "data", machine).check().device != device
    (tmp_path / "data" / "state.json").write_bytes((wiped / "state.json").read_bytes())  # the old state back
    again = app(server, tmp_path / "data", machine).check()
    # Both sides checked in: one of them is a copy, and the evidence says so.
    assert again.online and again.device == device and again.clone_suspected


def test_values_feedback_and_releases(server: LiveServer, machine: FakeMachine, tmp_path: Path) -> None:
    lic = app(server, tmp_path / "data", machine, app_version="1.0")
    lic.values.set("theme", {"dark": True})
    assert lic.values.get("theme") == {"dark": True}
    assert lic.values.get("missing", default=7) == 7
    with pytest.raises(ServerRefused) as refused:
        lic.values.set("seats", 1, scope="license")
    assert refused.value.code == "not_registered"
    long_text = "It works.\n" * 100  # longer than an event's data value may be
    event_id = lic.feedback(long_text)
    device = lic.check().device or ""
    stored = [e for e in events_of(server, device, "feedback") if e[1] == event_id]
    assert json.loads(stored[0][2])["text"] == long_text
    assert lic.latest_release() is None  # no release published


def test_facts_reach_the_server_only_when_enabled(
    server: LiveServer, machine: FakeMachine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = server_db(server)
    with conn:
        conn.execute("UPDATE products SET collect_facts = 1 WHERE slug = 'my-app'")
    conn.close()
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    lic = app(server, tmp_path / "on", machine, facts=["os_name", "time_zone"], authors=["Ann\tLee"])
    assert set(lic.facts()) >= {"os_name", "author_1"} and lic.facts()["author_1"] == "Ann\\tLee"
    device = lic.check().device
    off = app(server, tmp_path / "off", machine)
    assert off.facts() == {}
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    assert app(server, tmp_path / "dnt", machine, facts=True).facts() == {}
    monkeypatch.delenv("DO_NOT_TRACK")
    opted = app(server, tmp_path / "opt", machine, facts=True)
    opted.opt_out_of_facts()
    assert opted.facts() == {}
    conn = server_db(server)
    stored = json.loads(conn.execute("SELECT facts FROM devices WHERE id = ?", (device,)).fetchone()[0])
    conn.close()
    assert stored["author_1"] == "Ann\\tLee" and "os_name" in stored


def test_fact_collection_escapes_and_bounds() -> None:
    assert escape("a\tb\nc") == "a\\tb\\nc"
    facts = collect_facts(authors=["x"] * 10, trackers=["campaign-7"])
    assert facts["author_10"] == "x" and facts["tracker_1"] == "campaign-7"
    assert "computer_name" in facts and "local_time" in facts
    with pytest.raises(ValueError):
        collect_facts(authors=["x"] * 11)
    with pytest.raises(ValueError):
        collect_facts(["shoe_size"])
