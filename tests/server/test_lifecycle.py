"""An installation's life beyond its data folder: reinstalled, moved, carried to another computer.

docs/design.md section 5, through the public API as the SDK drives it (both databases):
the credential kept outside the data folder brings a reinstall back as itself; a move
on the same machine is a call of its own; the state on another computer is a copy.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from licentia.server.licenses.service import issue_license
from licentia.server.products.service import update_policy
from licentia.server.store.models import Device, table_of
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation, auth, fingerprint, verified

devices = table_of(Device)


def licensed(client, product, engine, clock, **fp):
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now(), max_devices=1)
    app = Installation(client, product.public_key, **fp)
    app.check(app_version="1.0")
    assert app.check("/v1/activate", key=lic.key, app_version="1.0")["status"] == "registered"
    return app, lic


def report_install(client, app, event_id="install-1"):
    body = {"events": [{"id": event_id, "kind": "install", "data": {"app_version": "1.0"}}]}
    return client.post("/v1/events", json=body, headers=auth(app.credential)).json()


# -- 1. a reinstall with the credential kept outside the data folder ----------------------------


def test_a_reinstall_with_the_kept_credential_resumes_the_installation_on_a_new_token_chain(
    client, product, engine, clock
):
    app, lic = licensed(client, product, engine, clock)
    device, old_token = app.device_id, app.token
    assert report_install(client, app)["accepted"] == 1
    clock.advance(days=2)
    app.token = None  # the data folder was deleted; the credential came back from the escrow
    doc = app.check(app_version="1.0", resumed=True)
    assert doc["device"] == device and doc["status"] == "registered" and doc["license"]["key_prefix"] == lic.key_prefix
    assert doc["token"] and doc["token"] != old_token and doc["clone_suspected"] is False
    (reinstall,) = events_of(engine, "reinstall")
    assert reinstall.device_id == device and reinstall.data == {"app_version": "1.0"}
    # The fresh data folder reports "install" again: not a second installation.
    assert report_install(client, app, "install-2") == {"accepted": 0, "duplicates": 1}
    assert [e.client_event_id for e in events_of(engine, "install")] == ["install-1"]
    # The token left in the deleted folder starts no chain: a restored copy of it is caught.
    stale = Installation(client, product.public_key)
    stale.credential, stale.token = dict(app.credential), old_token
    assert stale.check()["clone_suspected"] is True
    assert app.check()["status"] == "registered"


def test_a_reinstall_of_another_version_is_an_upgrade_and_keeps_the_trial(client, product, engine, clock):
    app = Installation(client, product.public_key)
    first = app.check(app_version="1.0")
    clock.advance(days=5)
    app.token = None
    doc = app.check(app_version="2.0", resumed=True)
    assert doc["device"] == first["device"] and doc["status"] == "trial" and doc["trial_end"] == first["trial_end"]
    (upgrade,) = events_of(engine, "upgrade")
    assert upgrade.data == {"from": "1.0", "to": "2.0", "via": "reinstall"}
    assert events_of(engine, "reinstall") == []
    assert report_install(client, app)["duplicates"] == 1


def test_the_kept_credential_without_a_token_on_other_hardware_is_still_a_copy(client, product, engine, clock):
    app, _lic = licensed(client, product, engine, clock)
    elsewhere = Installation(client, product.public_key, disk="d2", cpu="c2", mac="n2")  # the OS install kept
    elsewhere.credential = dict(app.credential)
    doc = elsewhere.check(resumed=True)
    assert doc["device"] != app.device_id and doc["license"] is None and doc["clone_suspected"] is True
    assert events_of(engine, "reinstall") == []
    assert app.check()["status"] == "registered"


def test_fingerprint_callers_that_keep_no_token_and_do_not_resume_check_as_before(client, product, engine):
    app = Installation(client, product.public_key)
    app.check(app_version="1.0")
    for _ in range(3):
        app.token = None  # a caller that never sends the token back
        doc = app.check(app_version="1.0")
        assert doc["device"] == app.device_id and doc["clone_suspected"] is False
    assert events_of(engine, "reinstall") == [] and events_of(engine, "upgrade") == []


def test_web_api_callers_that_keep_no_token_check_as_before(client, product, engine):
    first = client.post("/v1/check", json={"product": "acme", "device_id": "till-9", "app_version": "1.0"})
    credential = json.loads(first.content)["credential"]
    for version in ("1.0", "1.0", "1.1"):
        body = {"product": "acme", "device_id": "till-9", "app_version": version}
        doc = verified(client.post("/v1/check", json=body, headers=auth(credential)), product.public_key)
        assert doc["device"] == credential["device"] and doc["token"] and doc["clone_suspected"] is False
    assert events_of(engine, "reinstall") == []
    assert [e.data for e in events_of(engine, "upgrade")] == [{"from": "1.0", "to": "1.1"}]
    assert (
        client.post("/v1/events", json={"events": [{"id": "i", "kind": "install"}]}, headers=auth(credential)).json()[
            "accepted"
        ]
        == 1
    )


# -- 2. a reinstall without the credential (a formatted machine): a lineage ---------------------


def test_a_recognised_reinstall_is_recorded_as_one_and_its_install_is_not_counted_again(client, product, engine, clock):
    old = Installation(client, product.public_key)
    replaced = old.check(app_version="1.0")["device"]
    report_install(client, old)
    again = Installation(client, product.public_key)  # the same machine and data path, nothing kept
    doc = again.check(app_version="1.0")
    assert doc["device"] != replaced and doc["license"] is None
    (reinstall,) = events_of(engine, "reinstall")
    assert reinstall.device_id == doc["device"] and reinstall.data == {"replaces": replaced, "app_version": "1.0"}
    assert report_install(client, again, "install-again") == {"accepted": 0, "duplicates": 1}
    third = Installation(client, product.public_key)
    doc3 = third.check(app_version="1.1")
    (upgrade,) = events_of(engine, "upgrade")
    assert upgrade.device_id == doc3["device"]
    assert upgrade.data == {"from": "1.0", "to": "1.1", "via": "reinstall", "replaces": doc["device"]}
    with engine.connect() as conn:
        links = dict(conn.execute(sa.select(devices.c.id, devices.c.superseded_by)).all())
    assert links == {replaced: doc["device"], doc["device"]: doc3["device"], doc3["device"]: None}


# -- 3. the state on another computer ---------------------------------------------------------


def test_the_live_state_on_another_computer_is_a_copy_the_user_is_told_to_activate(client, product, engine, clock):
    app, lic = licensed(client, product, engine, clock)
    original, token = app.device_id, app.token
    other = Installation(client, product.public_key, machine="m2", disk="d2", cpu="c2", mac="n2")
    other.credential, other.token = dict(app.credential), app.token  # the whole data folder, with its current token
    doc = other.check()
    assert doc["device"] != original
    assert doc["license"] is None and doc["status"] == "trial" and doc["allowed"] is True
    assert doc["reason"] == "moved_to_other_machine" and doc["clone_suspected"] is True
    by_device = {e.device_id: e.data for e in events_of(engine, "clone_suspected")}
    assert by_device[original]["reason"] == by_device[doc["device"]]["reason"] == "moved_to_other_machine"
    assert by_device[doc["device"]]["copy_of"] == original
    assert events_of(engine, "hardware_changed") == []
    # The original's chain and license are untouched, and it carries no copy flag.
    assert app.token == token
    back = app.check()
    assert back["device"] == original and back["status"] == "registered" and back["clone_suspected"] is False
    assert back["machine"] != doc["machine"]
    # The other computer keeps telling its user why, until it is activated with the key.
    assert other.check()["reason"] == "moved_to_other_machine"
    # (The license has one seat: the old computer's must be freed first.)
    refused = other.call("/v1/activate", key=lic.key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "too_many_devices"


def test_a_copy_on_another_computer_is_blocked_when_the_product_blocks_copies(client, product, engine, clock):
    with engine.begin() as conn:
        update_policy(conn, product_id=product.id, values={"on_clone": "block"})
    app, _lic = licensed(client, product, engine, clock)
    other = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2")
    other.credential, other.token = dict(app.credential), app.token
    doc = other.check()
    assert doc["status"] == "blocked" and doc["reason"] == "clone_suspected" and doc["allowed"] is False
    assert app.check()["status"] == "registered"


def test_an_upgrade_that_keeps_one_strong_part_keeps_the_license(client, product, engine, clock):
    app, _lic = licensed(client, product, engine, clock)
    app.fp = fingerprint("acme", machine="m9", cpu="c9", mac="n9")  # the same disk in a new computer
    doc = app.check()
    assert doc["status"] == "registered" and doc["reason"] is None and doc["clone_suspected"] is False
    (changed,) = events_of(engine, "hardware_changed")
    assert changed.data["changed"] == ["cpu", "mac", "machine"]


# -- 4. an explicit move on the same computer -------------------------------------------------


def test_a_move_to_another_folder_keeps_the_installation_and_leaves_the_old_state_a_copy(
    client, product, engine, clock
):
    app, lic = licensed(client, product, engine, clock, path="/home/ada/.app")
    device, old_fp, old_token = app.device_id, dict(app.fp), app.token
    app.fp = fingerprint("acme", path="/data/app")
    doc = app.check("/v1/move", app_version="1.0")
    assert doc["device"] == device and doc["status"] == "registered" and doc["license"]["key_prefix"] == lic.key_prefix
    assert doc["data_path"] == app.fp["data_path"] and doc["token"] and doc["token"] != old_token
    (moved,) = events_of(engine, "moved")
    assert moved.data == {"data_path": {"from": old_fp["data_path"], "to": app.fp["data_path"]}, "app_version": "1.0"}
    assert app.check()["status"] == "registered"
    # The state left in the old folder: its token is behind and its folder is not the installation's.
    left = Installation(client, product.public_key, path="/home/ada/.app")
    left.credential, left.token = dict(app.credential), old_token
    copy = left.check()
    assert copy["device"] != device and copy["license"] is None and copy["clone_suspected"] is True
    assert app.check()["device"] == device


def test_a_move_with_a_new_version_is_an_upgrade_and_its_retry_moves_nothing_twice(client, product, engine):
    app = Installation(client, product.public_key, path="/opt/app-1")
    device = app.check(app_version="1.0")["device"]
    held = app.token
    app.fp = fingerprint("acme", path="/opt/app-2")
    app.check("/v1/move", app_version="2.0")
    app.token = held  # the answer was lost: the SDK still holds the old token and tries again
    doc = app.check("/v1/move", app_version="2.0")
    assert doc["device"] == device and doc["data_path"] == app.fp["data_path"]
    (upgrade,) = events_of(engine, "upgrade")
    assert upgrade.data["via"] == "move" and (upgrade.data["from"], upgrade.data["to"]) == ("1.0", "2.0")
    assert events_of(engine, "moved") == [] and events_of(engine, "clone_suspected") == []


def test_a_move_needs_the_live_state_the_same_machine_and_a_data_path(client, product, engine):
    app = Installation(client, product.public_key, path="/opt/app")
    app.check()
    stale = app.token
    app.check()
    app.check()
    app.fp = fingerprint("acme", path="/opt/elsewhere")
    body = app.body()
    refusals = {
        "stale": client.post("/v1/move", json={**body, "token": stale}, headers=auth(app.credential)),
        "no credential": client.post("/v1/move", json=body),
        "other machine": client.post(
            "/v1/move",
            json={**body, "fingerprint": fingerprint("acme", machine="m2", disk="d2", mac="n2", path="/opt/x")},
            headers=auth(app.credential),
        ),
        "no data path": client.post(
            "/v1/move", json={**body, "fingerprint": {"components": app.fp["components"]}}, headers=auth(app.credential)
        ),
        "bad body": client.post("/v1/move", json={"product": "acme", "token": 5}, headers=auth(app.credential)),
    }
    codes = {name: (r.status_code, r.json()["error"]["code"]) for name, r in refusals.items()}
    assert codes == {
        "stale": (401, "stale_token"),
        "no credential": (401, "invalid_credential"),
        "other machine": (409, "other_machine"),
        "no data path": (422, "validation_error"),
        "bad body": (422, "validation_error"),
    }
    assert events_of(engine, "moved") == [] and events_of(engine, "clone_suspected") == []
    # Nothing moved: the installation is still where it was.
    app.fp = fingerprint("acme", path="/opt/app")
    assert app.check()["clone_suspected"] is False


def test_state_copied_into_another_folder_without_a_move_stays_a_copy(client, product, engine, clock):
    app, _lic = licensed(client, product, engine, clock, path="/opt/app")
    copied = Installation(client, product.public_key, path="/opt/app-copy")
    copied.credential, copied.token = dict(app.credential), app.token
    doc = copied.check()
    assert doc["device"] != app.device_id and doc["license"] is None and doc["clone_suspected"] is True
    assert {e.data["reason"] for e in events_of(engine, "clone_suspected")} == {"state_copied"}
    assert events_of(engine, "moved") == []
