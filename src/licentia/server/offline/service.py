"""Air-gapped activation and deactivation: a machine's files in, seats bound or freed, files out.

The vendor (developer API, admin UI, CLI) or the signed-in customer (portal)
hands in the request a machine wrote; the answer is the activation response to
carry back. The seat is claimed by the status check's own code
(``Checker.run`` with ``action="activate"``, the same path ``/v1/activate``
takes), so every seat rule holds: seats count machines, a full license answers
``too_many_devices``, a move past the type's transfer limit ``transfer_limit``,
suspended, revoked, expired licenses and restricted machines are refused, and
a deactivation proof gives its seat back as ``/v1/deactivate`` does (a transfer
when another machine takes it). What differs is only what is done with the answer: its
lease is the long one the vendor chose, it names the request it answers, and
the installation's credential is sealed for the requesting machine.

Each function runs inside one transaction on a sync connection (the writer's,
or the CLI's), so the activation and the stored nonce commit together.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from licentia.core import airgap
from licentia.core.clock import from_iso, to_iso
from licentia.core.fingerprint import COMPONENTS
from licentia.core.licensekeys import KeyFormatError, key_hash, normalize_key
from licentia.server.audit import AuditAction, record
from licentia.server.devices import transfers
from licentia.server.devices.changes import installations_of, unbind
from licentia.server.devices.service import Checker, CheckInput
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.store.tables import customers, devices, licenses, offline_activations, products

# The name the UIs give the response file they hand out.
RESPONSE_FILENAME = "activation-response.lic"
DEFAULT_LEASE_DAYS = 365
MAX_LEASE_DAYS = 3650
# A request is answered within this long of being written: an old file found on
# a USB stick years later should not silently take a seat.
REQUEST_MAX_AGE = dt.timedelta(days=30)
# A request dated this far ahead of the server's clock is refused (a wrong clock, or a made-up date).
REQUEST_MAX_SKEW = dt.timedelta(hours=12)


@dataclass(frozen=True)
class ActivationRequest:
    """A request whose signature verified: the machine's claim, and the keys it brought."""

    product: str
    key: str
    components: dict[str, str]
    data_path: str
    virtual: bool
    nonce: str
    created_at: dt.datetime
    box_key: str
    proof_key: str
    app_version: str | None
    os_name: str | None


@dataclass(frozen=True)
class Answered:
    """What answering a request made: the response file's text and what it bound."""

    response: str
    activation: str
    device: str
    license_id: int
    lease_until: dt.datetime


def _bad_request(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_OFFLINE_REQUEST, message)


def _text(claim: dict[str, Any], name: str, *, limit: int = 200, optional: bool = False) -> Any:
    value = claim.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise _bad_request(f"the request's {name} is missing or malformed")
    return value


def read_request(text: str | bytes) -> ActivationRequest:
    """Parse and verify a request file; anything else is ``invalid_offline_request``."""
    try:
        claim, sig = airgap.read_claim(airgap.REQUEST, text)
        airgap.verify_claim(claim, sig, _text(claim, "proof_key", limit=64))
    except airgap.InvalidOfflineFile as exc:
        raise _bad_request(f"not a genuine activation request: {exc}") from exc
    fingerprint = claim.get("fingerprint")
    if not isinstance(fingerprint, dict):
        raise _bad_request("the request carries no fingerprint")
    components = fingerprint.get("components")
    if (
        not isinstance(components, dict)
        or not components
        or not all(k in COMPONENTS and isinstance(v, str) and 0 < len(v) <= 128 for k, v in components.items())
    ):
        raise _bad_request("the request's hardware components are missing or malformed")
    data_path = fingerprint.get("data_path")
    if not isinstance(data_path, str) or not 0 < len(data_path) <= 128:
        raise _bad_request("the request's data path is missing or malformed")
    try:
        created_at = from_iso(_text(claim, "created_at", limit=40))
    except (ValueError, OverflowError) as exc:
        raise _bad_request("the request's date is malformed") from exc
    return ActivationRequest(
        product=_text(claim, "product", limit=64),
        key=_text(claim, "key", limit=100),
        components=dict(components),
        data_path=data_path,
        virtual=fingerprint.get("virtual") is True,
        nonce=_text(claim, "nonce", limit=64),
        created_at=created_at,
        box_key=_text(claim, "box_key", limit=64),
        proof_key=_text(claim, "proof_key", limit=64),
        app_version=_text(claim, "app_version", limit=100, optional=True),
        os_name=_text(claim, "os", limit=200, optional=True),
    )


def customer_owns(conn: sa.Connection, license_id: int, email: str) -> bool:
    """Whether the license's customer has ``email`` (the portal acts only on the customer's own)."""
    found = conn.execute(
        sa.select(licenses.c.id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .where(licenses.c.id == license_id, sa.func.lower(customers.c.email) == email)
    ).first()
    return found is not None


def license_of_customer(conn: sa.Connection, *, key: str, product: str, email: str) -> None:
    """Raise ``foreign_license`` unless ``key`` is a license of ``product`` whose customer has ``email``."""
    try:
        digest = key_hash(normalize_key(key))
    except KeyFormatError as exc:
        raise ApiError(ErrorCode.INVALID_KEY, str(exc)) from exc
    found = conn.execute(
        sa.select(licenses.c.id)
        .join(customers, customers.c.id == licenses.c.customer_id)
        .join(products, products.c.id == licenses.c.product_id)
        .where(licenses.c.key_hash == digest, products.c.slug == product, sa.func.lower(customers.c.email) == email)
    ).first()
    if found is None:
        raise ApiError(ErrorCode.FOREIGN_LICENSE, "the request's license key is not one of your licenses")


def answer_request(
    conn: sa.Connection,
    *,
    checker: Checker,
    request: ActivationRequest,
    lease_days: int,
    actor: str,
    now: dt.datetime,
    customer_email: str | None = None,
) -> Answered:
    """Claim the seat the request asks for and make the response; raises :class:`ApiError` when refused."""
    if not 1 <= lease_days <= MAX_LEASE_DAYS:
        raise ApiError(ErrorCode.INVALID_DAYS, f"an offline lease is 1 to {MAX_LEASE_DAYS} days")
    if request.created_at < now - REQUEST_MAX_AGE or request.created_at > now + REQUEST_MAX_SKEW:
        raise ApiError(
            ErrorCode.OFFLINE_REQUEST_EXPIRED,
            "the activation request is over 30 days old or dated ahead (is the computer's clock right?)",
        )
    used = conn.execute(
        sa.select(offline_activations.c.id).where(offline_activations.c.request_nonce == request.nonce)
    ).first()
    if used is not None:
        raise ApiError(ErrorCode.OFFLINE_REQUEST_USED, "this activation request was answered already: write a new one")
    if customer_email is not None:
        license_of_customer(conn, key=request.key, product=request.product, email=customer_email)
    # First contact, then activation, in one transaction, as the SDK does online: the
    # check makes the installation (on the machine its components name, so its trial and
    # any block carry over) and issues its credential; the activation takes the seat.
    # A refusal raises, and nothing of either is kept.
    first = checker.run(conn, _check_input(request, now, actor, action="check"))
    if first.error is not None:
        raise first.error
    if first.document is None or first.credential is None:
        raise RuntimeError("a first contact makes an installation with a credential")
    secret = first.credential["secret"]
    outcome = checker.run(
        conn,
        _check_input(
            request,
            now,
            actor,
            action="activate",
            credential=(first.credential["device"], secret),
            token=first.document["token"],
        ),
    )
    if outcome.error is not None:
        raise outcome.error
    if outcome.document is None or outcome.signer is None:
        raise RuntimeError("an activation without an error carries a document and its signer")
    activation = "oa_" + secrets.token_hex(10)
    lease_until = now + dt.timedelta(days=lease_days)
    document = dict(outcome.document)
    device_id = str(document["device"])
    document["lease_until"] = to_iso(lease_until)
    # Dated no later than the request: an offline computer whose clock runs behind the server's
    # must still accept its own response (the SDK refuses documents from its future). The
    # request is at most REQUEST_MAX_AGE old, so this moves nothing by more than that.
    document["issued_at"] = to_iso(min(now, request.created_at))
    # Signed with the rest: the response answers this request, and no other.
    document["offline"] = {"activation": activation, "request": request.nonce}
    signed = outcome.signer.sign(document, outcome.endorsements)
    credential = json.dumps({"device": device_id, "secret": secret}).encode()
    license_id = int(
        conn.execute(sa.select(devices.c.license_id).where(devices.c.id == device_id)).scalar_one()  # just bound
    )
    product_id = conn.execute(sa.select(devices.c.product_id).where(devices.c.id == device_id)).scalar_one()
    conn.execute(
        offline_activations.insert().values(
            id=activation,
            product_id=product_id,
            license_id=license_id,
            device_id=device_id,
            request_nonce=request.nonce,
            proof_key=request.proof_key,
            lease_until=lease_until,
            created_at=now,
            created_by=actor,
        )
    )
    record(
        conn,
        AuditAction.LICENSE_OFFLINE_ACTIVATE,
        license_id,
        actor=actor,
        now=now,
        activation=activation,
        device=device_id,
        lease_days=lease_days,
    )
    response = airgap.armor(
        airgap.RESPONSE,
        {
            "v": airgap.FORMAT,
            "product": request.product,
            "request": request.nonce,
            "signed": json.loads(signed),
            "sealed": airgap.seal(credential, request.box_key, request.nonce.encode()),
        },
    )
    return Answered(response, activation, device_id, license_id, lease_until)


def _check_input(request: ActivationRequest, now: dt.datetime, actor: str, **kw: Any) -> CheckInput:
    return CheckInput(
        product=request.product,
        now=now,
        components=request.components,
        data_path=request.data_path,
        virtual=request.virtual,
        app_version=request.app_version,
        os_name=request.os_name,
        server_facts=lambda: {"received_at": to_iso(now), "offline_request": True, "by": actor},
        license_key=request.key,
        **kw,
    )


@dataclass(frozen=True)
class Deactivated:
    activation: str
    device: str
    license_id: int
    seat_freed: bool


def deactivate(
    conn: sa.Connection,
    *,
    proof: str | bytes,
    actor: str,
    now: dt.datetime,
    allowed: Callable[[sa.Connection, int], bool] | None = None,
) -> Deactivated:
    """Free the seat of the activation a machine's proof names; a proof counts once.

    ``allowed(conn, license_id)`` (the portal's) refuses a proof for a license
    that is not the caller's with ``foreign_license``.
    """

    def bad(message: str) -> ApiError:
        return ApiError(ErrorCode.INVALID_OFFLINE_PROOF, message)

    try:
        claim, sig = airgap.read_claim(airgap.PROOF, proof)
    except airgap.InvalidOfflineFile as exc:
        raise bad(f"not a genuine deactivation proof: {exc}") from exc
    activation_id, product = claim.get("activation"), claim.get("product")
    if not isinstance(activation_id, str) or not isinstance(product, str):
        raise bad("the proof names no activation")
    row = conn.execute(
        sa.select(offline_activations, products.c.slug)
        .join(products, products.c.id == offline_activations.c.product_id)
        .where(offline_activations.c.id == activation_id)
    ).first()
    if row is None or row.slug != product:
        raise ApiError(ErrorCode.UNKNOWN_OFFLINE_ACTIVATION, "no offline activation of this product matches the proof")
    try:
        airgap.verify_claim(claim, sig, row.proof_key)
    except airgap.InvalidOfflineFile as exc:
        raise bad(f"not a genuine deactivation proof: {exc}") from exc
    if claim.get("device") != row.device_id:
        raise bad("the proof names another installation")
    if allowed is not None and not allowed(conn, row.license_id):
        raise ApiError(ErrorCode.FOREIGN_LICENSE, "this activation is of a license that is not yours")
    if row.deactivated_at is not None:
        raise ApiError(ErrorCode.OFFLINE_PROOF_USED, "this offline activation was deactivated already")
    seat_freed = False
    for installation in installations_of(conn, devices.c.id == row.device_id):
        if installation.license_id == row.license_id:
            unbind(conn, row=installation, now=now, reason="deactivated offline")
            seat_freed = True
            # The machine's own proof gave the seat back: taking it on another machine is a transfer.
            transfers.seat_freed(
                conn,
                license_id=row.license_id,
                machine_id=installation.machine_id,
                now=now,
                by=transfers.FreedBy.OFFLINE,
            )
    conn.execute(
        offline_activations.update()
        .where(offline_activations.c.id == row.id, offline_activations.c.deactivated_at.is_(None))
        .values(deactivated_at=now, deactivated_by=actor)
    )
    record(
        conn,
        AuditAction.LICENSE_OFFLINE_DEACTIVATE,
        row.license_id,
        actor=actor,
        now=now,
        activation=row.id,
        device=row.device_id,
        seat_freed=seat_freed,
    )
    return Deactivated(row.id, row.device_id, row.license_id, seat_freed)


def recent_activations(conn: sa.Connection, *, license_id: int | None = None, limit: int = 100) -> list[Any]:
    """Offline activations, newest first, with their license's key prefix (the admin page lists them)."""
    query = (
        sa.select(offline_activations, licenses.c.key_prefix)
        .join(licenses, licenses.c.id == offline_activations.c.license_id)
        .order_by(offline_activations.c.created_at.desc(), offline_activations.c.id)
        .limit(limit)
    )
    if license_id is not None:
        query = query.where(offline_activations.c.license_id == license_id)
    return list(conn.execute(query).all())
