"""The three signed documents a product key signs, told apart by their content, and described for people.

- a **status document** (the offline license file): ``status``, ``device`` and ``components``;
- a **purchase certificate**: ``kind: "purchase_certificate"``;
- an **evidence report**: ``kind: "evidence_report"``.

All three share one envelope and one verification (:mod:`licentia.core.signing`),
so ``licentia-client verify`` and ``licentia evidence verify`` check any of them
offline with the product's public key. A certificate or a report is never a
status document: neither names a device nor a status, so the SDK's offline
check denies either if one is put in place of the license file.
"""

from __future__ import annotations

from licentia.core.canonical import load_json
from licentia.core.signing import InvalidDocument, verify_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from licentia.core.ed25519 import VerifyingKey

PURCHASE_CERTIFICATE = "purchase_certificate"
EVIDENCE_REPORT = "evidence_report"
STATUS_DOCUMENT = "status_document"
KIND_NAMES = {
    PURCHASE_CERTIFICATE: "purchase certificate",
    EVIDENCE_REPORT: "evidence report",
    STATUS_DOCUMENT: "status document (offline license file)",
}


def kind_of(payload: Mapping[str, Any]) -> str:
    """Which document a verified payload is; :class:`InvalidDocument` for none of the three."""
    kind = payload.get("kind")
    if kind in (PURCHASE_CERTIFICATE, EVIDENCE_REPORT):
        return str(kind)
    if kind is None and "status" in payload and "device" in payload:
        return STATUS_DOCUMENT
    raise InvalidDocument("signed by this key, but not a document Licentia makes")


def verify_any(
    unverified: bytes | str, public_keys: Mapping[str, VerifyingKey], *, product: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Verify a signed document of any kind: ``(kind, payload)``, or :class:`InvalidDocument`.

    The product is read from the unverified document unless given: the pinned
    key is the trust anchor (each product has its own), and the signature
    covers the product named inside.
    """
    if product is None:
        try:
            unverified_product = load_json(unverified)["document"]["product"]
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise InvalidDocument("malformed document") from exc
        if not isinstance(unverified_product, str):
            raise InvalidDocument("malformed document")
        product = unverified_product
    payload = verify_document(unverified, public_keys, product=product)
    return kind_of(payload), payload


def _text(value: Any) -> str:
    # Whatever a genuine document holds is shown on one line: no terminal control characters.
    return "".join(ch if ch.isprintable() else "?" for ch in str(value if value is not None else "—"))


def describe(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """Lines for people: what a verified document says."""
    lines = [f"genuine {KIND_NAMES[kind]} of {_text(payload.get('product'))}, signed {_text(payload.get('issued_at'))}"]
    try:
        if kind == PURCHASE_CERTIFICATE:
            customer, order, lic = payload["customer"], payload["order"], payload["license"]
            lines += [
                f"customer: {_text(customer.get('name'))} <{_text(customer.get('email'))}> "
                f"(id {_text(customer.get('id'))})",
                f"order: {_text(order.get('reference'))} ({_text(order.get('source'))}), {_text(order.get('date'))}",
                f"license: {_text(lic.get('key_prefix'))}-… (id {_text(lic.get('id'))}), "
                f"type {_text(lic.get('policy'))}, {_text(lic.get('seats'))} seats, "
                f"expires {_text(lic.get('expires_at') or 'never')}, state {_text(lic.get('state'))}",
            ]
        elif kind == EVIDENCE_REPORT:
            lines += [f"subject: {_text(payload['subject']['label'])}", f"events: {len(payload['events'])}"]
            # Reports made before case notes existed carry none.
            lines.append(f"the vendor's case notes: {len(payload.get('vendor_notes') or ())}")
        else:
            lic = payload.get("license") or {}
            lines += [
                f"device: {_text(payload.get('device'))} (machine {_text(payload.get('machine'))})",
                f"status: {_text(payload.get('status'))}, allowed {_text(payload.get('allowed'))}, "
                f"lease until {_text(payload.get('lease_until'))}",
            ]
            if lic:
                lines.append(f"license: {_text(lic.get('key_prefix'))}-…, type {_text(lic.get('policy'))}")
            for name in ("customer", "installation"):
                if payload.get(name) is not None:
                    lines.append(f"{name}: {_text(payload[name])}")
    except (KeyError, TypeError, AttributeError):
        lines.append("(some fields are missing or malformed)")
    return lines
