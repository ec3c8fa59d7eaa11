"""The admin UI's air-gapped activation page: answer a request, take a proof, list what was done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from licentia.client import Licentia
from licentia.server.licenses.service import issue_license
from tests.client.conftest import FakeMachine
from tests.server.admin_fixtures import form_token, make_admin, sign_in


def test_vendor_answers_a_request_and_frees_the_seat_from_the_admin_ui(
    client: Any, engine: Any, clock: Any, product: Any, tmp_path: Path
) -> None:
    make_admin(engine, clock)
    assert sign_in(client).status_code == 303
    with engine.begin() as conn:
        issued = issue_license(conn, product="acme", email="c@example.com", now=clock.now(), max_devices=1)
    machine = FakeMachine(tmp_path / "hw")
    computer = Licentia(
        "http://127.0.0.1:9", "acme", product.public_key, tmp_path / "data", fingerprint_root=machine.root, clock=clock
    )
    license_page = client.get(f"/admin/licenses/{issued.id}").text
    assert f'href="/admin/offline?license={issued.id}"' in license_page
    page = client.get(f"/admin/offline?license={issued.id}")
    assert "No offline activation of this license yet" in page.text
    csrf = form_token(page.text)

    request = computer.activation_request(issued.key)
    forged = client.post("/admin/offline/activate", data={"csrf": "nope"}, files={"request": ("r.txt", request)})
    assert forged.status_code == 403
    bad_lease = client.post("/admin/offline/activate", data={"csrf": csrf, "request_text": request, "lease_days": "x"})
    assert bad_lease.status_code == 400 and "whole number of days" in bad_lease.text
    answer = client.post(
        "/admin/offline/activate", data={"csrf": csrf, "lease_days": "90"}, files={"request": ("r.txt", request)}
    )
    assert answer.status_code == 200
    assert computer.install_activation(answer.text).state == "registered"
    again = client.post("/admin/offline/activate", data={"csrf": csrf}, files={"request": ("r.txt", request)})
    assert again.status_code == 409 and "answered already" in again.text

    listed = client.get(f"/admin/offline?license={issued.id}").text
    assert "admin:ann@vendor.example" in listed and clock.now().date().isoformat() in listed

    freed = client.post("/admin/offline/deactivate", data={"csrf": csrf, "proof_text": computer.deactivate_offline()})
    assert freed.status_code == 200 and "its seat is free" in freed.text
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM devices WHERE license_id IS NOT NULL")).scalar_one() == 0
