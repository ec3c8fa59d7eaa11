"""Purchase certificates: signed by the product key, downloaded from every side, attached to the license email."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from licentia.client.cli import main as client_main
from licentia.core.documents import PURCHASE_CERTIFICATE, STATUS_DOCUMENT, verify_any
from licentia.core.signing import InvalidDocument, SigningKey, load_public_key
from licentia.server.auth.tokens import create_token
from licentia.server.cli import main as server_main
from licentia.server.licenses.changes import issue_and_email
from licentia.server.licenses.schemas import LicenseOrder
from tests.server.admin_fixtures import make_admin, sign_in
from tests.server.helpers import Installation
from tests.server.payments.conftest import mapping
from tests.server.payments.test_stripe import BUYER, checkout, send
from tests.server.portal.conftest import ANN, mail_about, wait_for_mail
from tests.server.portal.conftest import sign_in as portal_sign_in

KEY_PATTERN = re.compile(r"[0-9A-Z]{5}(?:-[0-9A-Z]{5}){4}")


def _keys(product: Any) -> dict[str, Any]:
    kid, key = load_public_key(product.public_key)
    return {kid: key}


def _issue(engine: Any, clock: Any, migrated: Any, *, send_email: bool = False) -> Any:
    with engine.begin() as conn:
        order = LicenseOrder(
            product="acme", email="dora@example.com", name="Dora Buyer", order_ref="ORD-1001", source="shop",
            send_email=send_email,
        )  # fmt: skip
        return issue_and_email(conn, order, actor="test", now=clock.now(), fernet=migrated.fernet())


def _bearer(engine: Any, clock: Any) -> dict[str, str]:
    with engine.begin() as conn:
        token = create_token(conn, name="ci", scopes=["read"], now=clock.now(), created_by="test").token
    return {"Authorization": f"Bearer {token}"}


def test_a_certificate_names_the_sale_and_verifies_with_the_product_key(client, product, engine, clock, migrated):
    issued = _issue(engine, clock, migrated)
    answer = client.get(f"/v1/admin/licenses/{issued.id}/certificate", headers=_bearer(engine, clock))
    assert answer.status_code == 200, answer.text
    assert f"purchase-certificate-acme-{issued.key_prefix}.json" in answer.headers["content-disposition"]
    kind, doc = verify_any(answer.content, _keys(product))
    assert kind == PURCHASE_CERTIFICATE
    assert doc["customer"] == {"id": issued.customer_id, "name": "Dora Buyer", "email": "dora@example.com"}
    assert doc["order"] == {"reference": "ORD-1001", "source": "shop", "date": "2026-01-05T09:00:00Z"}
    lic = doc["license"]
    assert (lic["key_prefix"], lic["policy"], lic["seats"]) == (issued.key_prefix, "Default", 5)
    assert lic["expires_at"] is None and lic["state"] == "active"
    # Made to be shown to others: never the whole key.
    assert issued.key not in answer.text and issued.key.replace("-", "") not in answer.text
    missing = client.get("/v1/admin/licenses/999/certificate", headers=_bearer(engine, clock))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_license"


def test_both_verifiers_tell_genuine_from_forged_and_name_the_kind(client, product, engine, clock, migrated, tmp_path,
                                                                    capsys):  # fmt: skip
    issued = _issue(engine, clock, migrated)
    body = client.get(f"/v1/admin/licenses/{issued.id}/certificate", headers=_bearer(engine, clock)).content
    genuine, forged, status = tmp_path / "cert.json", tmp_path / "forged.json", tmp_path / "status.json"
    genuine.write_bytes(body)
    forged.write_bytes(body.replace(b'"seats":5', b'"seats":50'))
    app = Installation(client, product.public_key)
    app.check()
    status.write_bytes(json.dumps(app.call("/v1/check").json()["signed"]).encode())
    key = ["--public-key", product.public_key]
    common = ["--data-dir", str(migrated.data_dir), "--database-url", migrated.database_url]

    assert client_main(["verify", str(genuine), *key]) == 0
    out = capsys.readouterr().out
    assert "genuine purchase certificate of acme" in out and "Dora Buyer <dora@example.com>" in out
    assert "ORD-1001" in out and f"{issued.key_prefix}-…" in out
    assert client_main(["verify", str(forged), *key]) == 1
    assert "NOT genuine" in capsys.readouterr().out
    assert client_main(["verify", str(status), *key, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["kind"] == STATUS_DOCUMENT and shown["document"]["device"] == app.device_id

    assert server_main(["evidence", "verify", str(genuine), *key, *common]) == 0
    assert "genuine purchase certificate" in capsys.readouterr().out
    assert server_main(["evidence", "verify", str(status), *key, *common]) == 0
    assert "genuine status document" in capsys.readouterr().out
    assert server_main(["evidence", "verify", str(forged), *key, *common]) == 1
    assert "NOT a genuine" in capsys.readouterr().err
    # Another product's key: nothing of it is genuine.
    other = SigningKey.generate()
    with pytest.raises(InvalidDocument):
        verify_any(body, {other.kid: other.public_key})
    assert client_main(["verify", str(genuine), "--public-key", other.export_public()]) == 1


def test_the_license_email_carries_the_certificate(client, product, engine, clock, migrated, smtp):
    issued = _issue(engine, clock, migrated, send_email=True)
    mail = wait_for_mail(smtp, "dora@example.com")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert issued.key in text and "ORD-1001" in text and "purchase certificate" in text
    files = [part for part in mail.iter_attachments()]
    assert [part.get_filename() for part in files] == [f"purchase-certificate-acme-{issued.key_prefix}.json"]
    attached = files[0].get_content()
    kind, doc = verify_any(attached if isinstance(attached, bytes) else attached.encode(), _keys(product))
    assert kind == PURCHASE_CERTIFICATE and doc["license"]["id"] == issued.id
    assert issued.key.encode() not in (attached if isinstance(attached, bytes) else attached.encode())


def test_a_paid_order_emails_the_key_and_the_certificate(client, engine, clock, smtp, product):
    mapping(engine, clock, "stripe", "price_pro", max_devices=2)
    assert send(client, clock, checkout()).json()["outcome"] == "license issued"
    mail = mail_about(smtp, BUYER, "license key", 1)
    assert KEY_PATTERN.search(mail.get_body(preferencelist=("plain",)).get_content())
    (attached,) = list(mail.iter_attachments())
    content = attached.get_content()
    kind, doc = verify_any(content if isinstance(content, bytes) else content.encode(), _keys(product))
    assert kind == PURCHASE_CERTIFICATE
    assert doc["customer"]["email"] == BUYER and doc["order"]["reference"] == "cs_test_1"
    assert (doc["order"]["source"], doc["license"]["seats"]) == ("stripe", 2)


def test_the_admin_license_page_links_the_meters_and_the_certificate(client, product, engine, clock, migrated):
    issued = _issue(engine, clock, migrated)
    make_admin(engine, clock)
    sign_in(client)
    page = client.get(f"/admin/licenses/{issued.id}")
    assert page.status_code == 200
    assert f'hx-get="/admin/licenses/{issued.id}/meters"' in page.text
    assert f'href="/admin/licenses/{issued.id}/certificate"' in page.text
    section = client.get(f"/admin/licenses/{issued.id}/meters", headers={"HX-Request": "true"})
    assert section.status_code == 200 and "defines no meters" in section.text and "<html" not in section.text
    assert "<html" in client.get(f"/admin/licenses/{issued.id}/meters").text  # without scripts: a page
    download = client.get(f"/admin/licenses/{issued.id}/certificate")
    assert download.status_code == 200
    assert verify_any(download.content, _keys(product))[0] == PURCHASE_CERTIFICATE
    client.cookies.clear()
    assert client.get(f"/admin/licenses/{issued.id}/certificate", follow_redirects=False).status_code == 303


def test_a_customer_downloads_their_own_certificates_only(client, product, smtp, shop):
    portal_sign_in(client, smtp, ANN)
    home = client.get("/portal")
    assert f'href="/portal/licenses/{shop.ann_license.id}/certificate"' in home.text
    page = client.get(f"/portal/licenses/{shop.ann_license.id}")
    assert "Download the purchase certificate" in page.text
    mine = client.get(f"/portal/licenses/{shop.ann_license.id}/certificate")
    assert mine.status_code == 200
    kind, doc = verify_any(mine.content, _keys(product))
    assert kind == PURCHASE_CERTIFICATE and doc["customer"]["email"] == ANN
    theirs = client.get(f"/portal/licenses/{shop.bob_license.id}/certificate")
    assert theirs.status_code == 404 and b"bob" not in theirs.content.lower()
