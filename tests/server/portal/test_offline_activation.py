"""The portal's air-gapped activation over HTTP: only the customer's own licenses, forms guarded by CSRF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from licentia.client import Licentia
from tests.client.conftest import FakeMachine
from tests.server.admin_fixtures import form_token
from tests.server.portal.conftest import ANN, BOB, sign_in


def _computer(product: Any, clock: Any, root: Path) -> Licentia:
    machine = FakeMachine(root / "hw", disk=root.name)
    return Licentia(
        "http://127.0.0.1:9", "acme", product.public_key, root / "data", fingerprint_root=machine.root, clock=clock
    )


def _upload(client: Any, path: str, field: str, text: str, csrf: str | None = None) -> Any:
    page = client.get("/portal/offline")
    token = csrf if csrf is not None else form_token(page.text)
    return client.post(path, data={"csrf": token}, files={field: ("file.txt", text.encode(), "text/plain")})


def test_activation_and_deactivation_only_for_the_customers_own_licenses(
    client: Any, shop: Any, smtp: Any, product: Any, clock: Any, tmp_path: Path
) -> None:
    ann_pc = _computer(product, clock, tmp_path / "ann-pc")
    bob_pc = _computer(product, clock, tmp_path / "bob-pc")
    sign_in(client, smtp, BOB)
    bob_response = _upload(
        client, "/portal/offline/activate", "request", bob_pc.activation_request(shop.bob_license.key)
    )
    assert bob_response.status_code == 200
    assert bob_pc.install_activation(bob_response.text).state == "registered"
    bob_proof = bob_pc.deactivate_offline()

    client.cookies.clear()
    sign_in(client, smtp, ANN)
    request = ann_pc.activation_request(shop.ann_license.key)
    forged = _upload(client, "/portal/offline/activate", "request", request, csrf="not-the-token")
    assert forged.status_code == 403
    answer = _upload(client, "/portal/offline/activate", "request", request)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="activation-response.lic"'
    assert ann_pc.install_activation(answer.text).state == "registered"

    # Bob's key, or Bob's proof, uploaded by Ann: refused, and Bob's seat stays taken.
    foreign = _upload(client, "/portal/offline/activate", "request", bob_pc.activation_request(shop.bob_license.key))
    assert foreign.status_code == 403 and "not one of your licenses" in foreign.text
    refused = _upload(client, "/portal/offline/deactivate", "proof", bob_proof)
    assert refused.status_code == 403 and "not yours" in refused.text
    garbage = _upload(client, "/portal/offline/deactivate", "proof", "hello")
    assert garbage.status_code == 400 and "not a genuine deactivation proof" in garbage.text

    freed = _upload(client, "/portal/offline/deactivate", "proof", ann_pc.deactivate_offline())
    assert freed.status_code == 200 and "seat is free again" in freed.text


def test_a_computer_on_an_offline_lease_is_freed_with_its_proof_not_the_machines_list(
    client: Any, shop: Any, smtp: Any, product: Any, clock: Any, tmp_path: Path
) -> None:
    """Else the license would run on one computer more than it allows until that lease ends."""
    import re

    sign_in(client, smtp, ANN)
    computer = _computer(product, clock, tmp_path / "ann-pc")
    answer = _upload(client, "/portal/offline/activate", "request", computer.activation_request(shop.ann_license.key))
    computer.install_activation(answer.text)
    page = client.get(f"/portal/licenses/{shop.ann_license.id}").text
    machines = re.findall(r'id="machine-([A-Za-z0-9_-]+)"', page)
    assert len(machines) == 3  # two online machines, and the offline one
    refusals = []
    for machine in machines:
        freed = client.post(
            f"/portal/licenses/{shop.ann_license.id}/machines/{machine}/free",
            data={"csrf": form_token(page), "reason": "new computer"},
        )
        if "activated offline" in freed.text:
            refusals.append(machine)
    assert len(refusals) == 1
