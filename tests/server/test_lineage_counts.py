"""A formatted machine: the reinstall is recognised as a new installation, and every count reads them as one.

The vendor reinstalls nothing twice in the numbers: headline counts, rollups,
conversions, the device lists and their export, the license's seats, the
developer API, the CLI and the evidence all treat an installation and the
reinstalls recognised without its credential (a lineage) as one (both databases).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest

from licentia.server.admin.dashboard.figures import cohort, dashboard
from licentia.server.admin.service import counts
from licentia.server.auth.tokens import create_token
from licentia.server.evidence.report import build_document, html
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.licenses.service import issue_license
from licentia.server.rollups.service import compute_days, refresh, replace_days, series
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.evidence.conftest import events_of
from tests.server.helpers import Installation, fingerprint


class Shop:
    """Machine 1: installed, activated, then formatted and reinstalled (key presented again); machine 2: a trial."""

    def __init__(self, client: Any, product: Any, engine: Any, clock: Any) -> None:
        with engine.begin() as conn:
            self.lic = issue_license(conn, product="acme", email="buyer@example.com", now=clock.now(), max_devices=1)
        self.day1 = clock.now().date()
        first = Installation(client, product.public_key)
        first.check(app_version="1.0")
        other = Installation(client, product.public_key, machine="m2", disk="d2", mac="n2")
        other.check(app_version="1.0")
        clock.advance(minutes=30)  # a purchase takes a while
        first.check("/v1/activate", key=self.lic.key)
        clock.advance(days=2)
        self.day3 = clock.now().date()
        reinstalled = Installation(client, product.public_key)  # formatted: no state, no escrow
        assert reinstalled.check(app_version="1.0")["license"] is None
        assert reinstalled.check("/v1/activate", key=self.lic.key)["status"] == "registered"  # no new seat
        other.check(app_version="1.0")
        self.old, self.new, self.other = first.device_id, reinstalled.device_id, other.device_id


@pytest.fixture
def shop(client: Any, product: Any, engine: Any, clock: Any) -> Shop:
    return Shop(client, product, engine, clock)


def test_headline_counts_rollups_and_conversions_count_a_lineage_once(
    shop: Shop, engine: Any, clock: Any, product: Any
) -> None:
    with engine.begin() as conn:
        assert counts(conn, product.id, clock.now()) == {
            "devices": 2,
            "trial": 1,
            "registered": 1,
            "blocked": 0,
            "seen_24h": 2,
            "licenses": 1,
        }
        refresh(conn, [shop.day1, shop.day1 + dt.timedelta(days=1), shop.day3])

        def values(metric: str, dimension: str = "") -> list[int]:
            rows = series(
                conn, product_id=product.id, metric=metric, first=shop.day1, last=shop.day3, dimension=dimension
            )
            return [v for _, v in rows]

        assert values("new_devices") == [2, 0, 0]  # the reinstall is not a new installation
        assert values("conversions") == [1, 0, 0]  # nor is presenting the key again a sale
        assert values("devices", "registered") == [1, 1, 1]
        assert values("devices", "trial") == [1, 1, 1]
        assert values("active_7d") == [2, 2, 2]
        assert values("events", "reinstall") == [0, 0, 1]
        # Today's figures, counted from the installations' rows (the minute's rollups) agree.
        replace_days(conn, [shop.day3], compute_days(conn, [shop.day3], today=shop.day3))
        assert values("active_1d")[-1] == 2 and values("active_30d")[-1] == 2
        board = dashboard(conn, product_id=product.id, today=shop.day3, days=7)
        assert board["new_total"] == 2 and board["converted_total"] == 1 and board["active_7d"] == 2
        group = cohort(conn, product_id=product.id, first=shop.day1, today=shop.day3)
        assert (group["size"], group["converted"]) == (2, 1)


def test_a_trial_converted_after_a_reinstall_converts_its_cohort_member(
    client: Any, product: Any, engine: Any, clock: Any
) -> None:
    with engine.begin() as conn:
        lic = issue_license(conn, product="acme", email="later@example.com", now=clock.now())
    day1 = clock.now().date()
    Installation(client, product.public_key).check()
    clock.advance(days=1)
    Installation(client, product.public_key).check()  # reinstalled twice during the trial, then bought
    again = Installation(client, product.public_key)
    again.check()
    again.check("/v1/activate", key=lic.key)
    with engine.begin() as conn:
        group = cohort(conn, product_id=product.id, first=day1, today=clock.now().date())
        refresh(conn, [day1, clock.now().date()])
        converted = series(conn, product_id=product.id, metric="conversions", first=day1, last=clock.now().date())
    assert (group["size"], group["converted"]) == (1, 1)
    assert [v for _, v in converted] == [0, 1]  # the lineage's first activation is its conversion


def test_lists_and_exports_fold_the_replaced_installation_under_its_successor(
    shop: Shop, client: Any, engine: Any, clock: Any
) -> None:
    make_admin(engine, clock)
    sign_in(client)
    page = client.get("/admin/devices").text
    assert shop.new in page and shop.other in page and f'href="/admin/devices/{shop.old}"' in page
    assert "Devices: 1-2 of 2" in page and f'replaces <a href="/admin/devices/{shop.old}">' in page
    found = client.get("/admin/devices", params={"q": shop.old}).text  # its own id still finds it
    assert "reinstalled as" in found and f'href="/admin/devices/{shop.new}"' in found
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/devices.csv").text)))
    assert {r["device_id"]: r["replaces"] for r in rows} == {shop.new: shop.old, shop.other: ""}
    seats = client.get(f"/admin/licenses/{shop.lic.id}").text
    seats = seats[seats.index('id="seats"') : seats.index("</section>", seats.index('id="seats"'))]
    assert shop.new in seats and f'replaces <a href="/admin/devices/{shop.old}">' in seats
    assert seats.count("free-seat-") == 1
    device_page = client.get(f"/admin/devices/{shop.new}").text
    assert "Reinstalled" in device_page and f"replaces {shop.old}" in device_page


def test_the_developer_api_and_the_cli_show_the_links(
    shop: Shop, client: Any, engine: Any, clock: Any, migrated: Any, monkeypatch: Any, capsys: Any
) -> None:
    with engine.begin() as conn:
        token = create_token(conn, name="ro", scopes=["read"], now=clock.now(), created_by="test").token
    bearer = {"Authorization": f"Bearer {token}"}
    old = client.get(f"/v1/admin/devices/{shop.old}", headers=bearer).json()
    new = client.get(f"/v1/admin/devices/{shop.new}", headers=bearer).json()
    assert (old["previous_id"], old["superseded_by"]) == (None, shop.new)
    assert (new["previous_id"], new["superseded_by"]) == (shop.old, None)
    seats = client.get(f"/v1/admin/licenses/{shop.lic.id}/devices", headers=bearer).json()
    assert [(s["id"], s["previous_id"]) for s in seats] == [(shop.new, shop.old)]

    from licentia.server.cli import main

    monkeypatch.setenv("LICENTIA_DATABASE_URL", migrated.resolved_database_url)
    monkeypatch.setenv("LICENTIA_SECRET_KEY", migrated.secret_key.get_secret_value())
    capsys.readouterr()
    assert main(["device", "show", shop.old, "--data-dir", str(migrated.data_dir)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["superseded_by"] == shop.new and shown["previous_id"] is None
    assert main(["device", "list", "--data-dir", str(migrated.data_dir)]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert sorted(row[0] for row in listed) == sorted([shop.new, shop.other])
    assert [row[-1] for row in listed if row[0] == shop.new] == [f"replaces {shop.old}"]


def test_evidence_reads_the_lineage_as_one_installation(shop: Shop, engine: Any, clock: Any) -> None:
    with engine.connect() as conn:
        subject = device_subject(conn, shop.old)
        licensed = license_subject(conn, str(shop.lic.id))
    assert [d.id for d in subject.devices] == [shop.old, shop.new]
    assert {e.kind for e in subject.events} >= {"register", "reinstall"}
    document = build_document(subject, now=clock.now())
    assert [(d["id"], d["previous_id"], d["superseded_by"]) for d in document["devices"]] == [
        (shop.old, None, shop.new),
        (shop.new, shop.old, None),
    ]
    page = html(subject, now=clock.now())
    assert "<th>Installations involved</th><td>1 (2 with their reinstalls)</td>" in page
    # The reinstall presented its key seconds after its first contact: a reinstall, not a purchase.
    for risk in (assess(subject), assess(licensed)):
        instant = next(f for f in risk.factors if f.name == "instant_registration")
        assert instant.value == 0 and instant.points == 0


def test_a_state_hopping_between_computers_is_a_risk_factor(client: Any, product: Any, engine: Any, clock: Any) -> None:
    app = Installation(client, product.public_key)
    device = app.check()["device"]
    # One OS image carried from computer to computer: its machine id stays, the rest changes each time.
    for n in range(3):
        clock.advance(days=6)
        app.fp = fingerprint("acme", disk=f"disk-{n}", cpu=f"cpu-{n}", mac=f"nic-{n}")
        assert app.check()["device"] == device
    assert len(events_of(engine, "hardware_changed")) == 3
    with engine.connect() as conn:
        risk = assess(device_subject(conn, device))
    hopping = next(f for f in risk.factors if f.name == "hardware_hopping")
    assert (hopping.value, hopping.points) == (3, 10) and "3 hardware changes" in hopping.sentence
    clock.advance(days=40)  # the same number spread over months is a computer being upgraded
    app.fp = fingerprint("acme", disk="disk-x", cpu="cpu-x", mac="nic-x")
    app.check()
    with engine.connect() as conn:
        assert next(f for f in assess(device_subject(conn, device)).factors if f.name == "hardware_hopping").value == 3
