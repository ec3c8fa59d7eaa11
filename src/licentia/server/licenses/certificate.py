"""A purchase certificate's payload, its signature, and its readable form for the license email.

What it holds: the customer (id, name, email), the product, the order
(reference, source, date), the license (id, key *prefix*, license type,
seats, expiry, end of updates, state) and when it was signed. Never the whole
key: a certificate is made to be shown (to an auditor, a reseller, a finance
department), and whoever reads a whole key can activate it; the key itself
travels once, in the license email. Verify with ``licentia-client verify``
or ``licentia evidence verify`` and the product's public key (docs/licensing-models.md).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.clock import to_iso
from licentia.core.documents import PURCHASE_CERTIFICATE
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.evidence.signing import product_signer
from licentia.server.licenses.views import get_license, license_view
from licentia.server.store.tables import products, purchases

MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class Certificate:
    filename: str
    body: bytes  # the signed document, canonical JSON
    payload: dict[str, Any]


def certificate_payload(conn: sa.Connection, *, license_id: int, now: dt.datetime) -> dict[str, Any]:
    """What is signed; ``no_purchase_certificate`` for a license issued without a customer."""
    row = get_license(conn, license_id)
    view = license_view(conn, license_id, now)
    customer = view["customer"]
    if customer is None:
        raise ApiError(ErrorCode.NO_PURCHASE_CERTIFICATE, f"license {license_id} has no customer")
    product = conn.execute(sa.select(products.c.slug, products.c.name).where(products.c.id == row.product_id)).one()
    purchase = None
    if row.purchase_id is not None:
        purchase = conn.execute(sa.select(purchases).where(purchases.c.id == row.purchase_id)).first()
    sold_at = purchase.purchased_at if purchase is not None else row.created_at

    def iso(value: dt.datetime | None) -> str | None:
        return to_iso(value) if value is not None else None

    return {
        "v": 1,
        "kind": PURCHASE_CERTIFICATE,
        "product": product.slug,
        "product_name": product.name,
        "customer": {"id": customer["id"], "name": customer["name"], "email": customer["email"]},
        "order": {
            "reference": purchase.order_ref if purchase is not None else None,
            "source": purchase.source if purchase is not None else None,
            "date": to_iso(sold_at),
        },
        "license": {
            "id": row.id,
            "key_prefix": row.key_prefix,
            "policy": view["policy"],
            "kind": view["kind"],
            "seats": view["max_devices"],
            "expires_at": iso(row.expires_at),
            "maintenance_until": iso(row.maintenance_until),
            "state": row.state,
            "issued_at": to_iso(row.created_at),
        },
        "issued_at": to_iso(now),
    }


def sign_certificate(conn: sa.Connection, *, license_id: int, now: dt.datetime, fernet: Fernet) -> Certificate:
    """The license's purchase certificate, signed now with the product's current key (and its endorsements)."""
    payload = certificate_payload(conn, license_id=license_id, now=now)
    product_id = conn.execute(sa.select(products.c.id).where(products.c.slug == payload["product"])).scalar_one()
    signer, chain = product_signer(conn, product_id, fernet)
    body = signer.sign(payload, chain)
    filename = f"purchase-certificate-{payload['product']}-{payload['license']['key_prefix']}.json"
    return Certificate(filename, body, payload)


def attachment(certificate: Certificate) -> dict[str, str]:
    """The certificate as an email attachment (outbox payloads are JSON: the signed text as it is)."""
    return {"filename": certificate.filename, "content_type": MEDIA_TYPE, "text": certificate.body.decode("utf-8")}


def readable(payload: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of a certificate for the license email's body: what the attached file proves."""
    lic, order = payload["license"], payload["order"]
    rows = [
        ("Product", payload["product_name"]),
        ("Customer", f"{payload['customer']['name'] or ''} <{payload['customer']['email']}>".strip()),
        ("Order", order["reference"] or "—"),
        ("Date", order["date"][:10]),
        ("License", f"{lic['key_prefix']}-… ({lic['policy']}, {lic['seats']} machines)"),
        ("Expires", (lic["expires_at"] or "never")[:10]),
    ]
    text = "Your purchase certificate (attached, signed by the vendor):\n" + "".join(
        f"    {label}: {' '.join(str(value).split())}\n" for label, value in rows
    )
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
        f"<td>{html.escape(str(value))}</td></tr>"
        for label, value in rows
    )
    body_html = f"<p>Your purchase certificate (attached, signed by the vendor):</p><table>{cells}</table>"
    return text, body_html
