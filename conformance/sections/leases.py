"""``leases``: signed floating-lease documents, as the verdict the SDK gives on them.

A lease document (``POST /v1/leases``, its heartbeat and a borrow) is signed by the product's
key in the status document's envelope (``server.leases.document``). The SDK trusts it only once
it verifies with the pinned keys, names this product, is of type ``floating_lease`` and names
this machine's hardware read afresh; an answer must also name the lease of its document and be
bound to its request (nonce, device, machine, as the ``online`` section). A borrowed lease kept
in ``lease.json`` works offline until its end, judged at the local clock set right by the offset
(``client.lease_documents``: ``verified_answer``, ``usable_borrow``, ``lease_terms``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from licentia.client._exceptions import InvalidAnswer
from licentia.client.answers import Asked
from licentia.client.fingerprint import Fingerprint
from licentia.client.lease_documents import lease_terms, usable_borrow, verified_answer, verify_lease
from licentia.client.state import State
from licentia.core.answers import refusal, server_time
from licentia.core.clock import from_iso, to_iso
from licentia.core.fingerprint import component_hash
from licentia.core.signing import InvalidDocument, SigningKey
from sections.common import (
    COMPONENTS,
    DATA_PATH,
    KEY_1,
    OTHER_VENDOR,
    PRODUCT,
    T0,
    mutate,
    payload,
    pinned,
    set_doc,
    signed_text,
    trusted,
)

NONCE = "q8Vf3LkP0aZx7Ww1nB2cDg"
LEASE = "ls_4f1c2b7e9d0a4c3b8e6f5a1d"
DEVICE, MACHINE = payload()["device"], payload()["machine"]
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


def lease_document(**changes: Any) -> dict[str, Any]:
    """A lease document as ``server.leases.document.lease_document`` makes it, answering ``NONCE``."""
    document: dict[str, Any] = {
        "v": 1,
        "type": "floating_lease",
        "product": PRODUCT,
        "lease": LEASE,
        "device": DEVICE,
        "machine": MACHINE,
        "components": dict(COMPONENTS),
        "min_match": 2,
        "license": {"key_prefix": "7KQ2M", "policy": "Floating", "kind": "floating", "expires_at": None},
        "issued_at": to_iso(T0),
        "expires_at": to_iso(T0 + 30 * MINUTE),
        "borrowed": False,
        "lease_seconds": 1800,
        "heartbeat_seconds": 600,
        "entitlements": {"export_pdf": {"value": True}, "max_projects": {"value": 10},
                         "launch_offer": {"value": "50%", "expires_at": to_iso(T0 + 10 * MINUTE)}},
        "features": ["export_pdf", "pro"],
        "nonce": NONCE,
    }  # fmt: skip
    document.update(changes)
    return {k: v for k, v in document.items() if v is not _DROP}


_DROP = object()  # a field left out of the document


def _answer(document: dict[str, Any], *, key: SigningKey = KEY_1, lease: Any = LEASE) -> str:
    return json.dumps({"lease": lease, "signed": json.loads(signed_text(key, document))}, ensure_ascii=False)


def _fingerprint(case: dict[str, Any]) -> Fingerprint:
    return Fingerprint(case["fingerprint"]["components"], case["fingerprint"]["data_path"], False)


def _answered(case: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """``(refusal, verified document)`` of a lease call's answer (``leases._verified``)."""
    request, keys = case["request"], trusted(case["pinned"])
    known = json.loads(request["known"]) if request["known"] else None
    asked = Asked(State(signed=known, credential=(request["device"], "secret") if request["device"] else None))
    asked.nonce = request["nonce"]
    answer = json.loads(case["answer"])
    try:
        return None, verified_answer(answer, asked, keys, product=case["product"], fingerprint=_fingerprint(case))[0]
    except InvalidAnswer:
        pass
    # Which rule refused it, in the order verified_answer applies them.
    signed = answer.get("signed") if isinstance(answer, dict) else None
    try:
        if not isinstance(signed, dict):
            raise InvalidDocument("no signed lease")
        verified = verify_lease(signed, keys, product=case["product"], fingerprint=_fingerprint(case), at_time=None)
    except InvalidDocument:
        return "invalid_document", None
    if verified["lease"] != answer.get("lease"):
        return "other_lease", None
    machine = asked._machine(keys, case["product"])
    why = refusal(verified, nonce=asked.nonce, device=asked.device, machine=machine, credential_device=None)
    if why is None:
        raise RuntimeError("the SDK refused a lease answer no rule refuses")
    return why, None


def _why_not_usable(case: dict[str, Any], kept: Any, at: dt.datetime) -> str:
    """Why ``usable_borrow`` refused a kept lease: it does not verify here, or it has ended."""
    try:
        verify_lease(kept, trusted(case["pinned"]), product=case["product"], fingerprint=_fingerprint(case), at_time=at)
    except InvalidDocument:
        return "invalid_document"
    return "ended"


def expected(case: dict[str, Any]) -> dict[str, Any]:
    if case["mode"] == "answer":
        why, verified = _answered(case)
        at = from_iso(verified["issued_at"]) if verified else None  # online: the server's time
    else:
        at = server_time(from_iso(case["now"]), case["offset_seconds"])
        kept = json.loads(case["signed"])
        verified = usable_borrow(kept, trusted(case["pinned"]), product=case["product"],
                                 fingerprint=_fingerprint(case), at=at)  # fmt: skip
        why = None if verified is not None else _why_not_usable(case, kept, at)
        if verified is not None and verified.get("borrowed") is not True:
            why, verified = "not_borrowed", None  # only a borrowed lease is used offline (leases.checkout)
    if verified is None or at is None:
        return {"accepted": False, "refusal": why, "lease": None}
    terms = lease_terms(verified, at)
    return {
        "accepted": True,
        "refusal": None,
        "lease": {
            "id": terms.id,
            "state": "borrowed" if terms.borrowed else "active",
            "expires_at": to_iso(verified["_expires"]),
            "seconds_left": terms.seconds_left,
            "heartbeat_seconds": terms.heartbeat_seconds,
            "entitlements": terms.entitlements,
            "features": list(terms.features),
        },
    }


def _answer_inputs() -> list[tuple[str, str, str | None]]:
    """(name, the server's answer as text, device asked for)."""
    doc = lease_document
    borrow = doc(borrowed=True, expires_at=to_iso(T0 + 7 * DAY))
    forged = mutate(signed_text(KEY_1, doc()), set_doc("expires_at", to_iso(T0 + 365 * DAY)))
    other_hw = {name: component_hash(PRODUCT, name, "other") for name in COMPONENTS}
    return [
        ("checkout", _answer(doc()), DEVICE),
        ("heartbeat: the lease extended", _answer(doc(issued_at=to_iso(T0 + 10 * MINUTE),
                                                      expires_at=to_iso(T0 + 40 * MINUTE))), DEVICE),
        ("borrowed for a week", _answer(borrow), DEVICE),
        ("a heartbeat interval above half the lease: a quarter", _answer(doc(heartbeat_seconds=1000)), DEVICE),
        ("a heartbeat interval of zero: a quarter", _answer(doc(heartbeat_seconds=0)), DEVICE),
        ("no heartbeat interval, an odd lease time", _answer(doc(heartbeat_seconds=_DROP, lease_seconds=1801)),
         DEVICE),
        ("no lease time: every 30 seconds", _answer(doc(lease_seconds=_DROP, heartbeat_seconds=_DROP)), DEVICE),
        ("borrowed only when true", _answer(doc(borrowed="yes")), DEVICE),
        ("an entitlement ended by the issue time", _answer(doc(issued_at=to_iso(T0 + 10 * MINUTE))), DEVICE),
        ("features that are not text are dropped", _answer(doc(features=["pro", 7, None])), DEVICE),
        ("one part replaced still matches", _answer(doc(components={**COMPONENTS, "disk": other_hw["disk"]})),
         DEVICE),
        ("another machine's lease", _answer(doc(components=other_hw)), DEVICE),
        ("a status document is no lease", _answer(payload(nonce=NONCE)), DEVICE),
        ("another type", _answer(doc(type="status")), DEVICE),
        ("the lease id not text", _answer(doc(lease=7), lease=7), DEVICE),
        ("an unreadable end", _answer(doc(expires_at="in half an hour")), DEVICE),
        ("no end", _answer(doc(expires_at=_DROP)), DEVICE),
        ("another product's lease", _answer(doc(product="other-app")), DEVICE),
        ("signed by another vendor", _answer(doc(), key=OTHER_VENDOR), DEVICE),
        ("its end edited after signing", json.dumps({"lease": LEASE, "signed": json.loads(forged)}), DEVICE),
        ("no signed document", json.dumps({"lease": LEASE, "signed": None}), DEVICE),
        ("the answer names another lease", _answer(doc(), lease="ls_0000000000000000000000aa"), DEVICE),
        ("the answer names no lease", _answer(doc(), lease=None), DEVICE),
        ("an earlier request's nonce", _answer(doc(nonce="Zm9yIGFuIGVhcmxpZXIgcmVxdWVzdA")), DEVICE),
        ("no nonce", _answer(doc(nonce=_DROP)), DEVICE),
        ("another installation's lease", _answer(doc(device="dv_77aa00bb11cc22dd")), DEVICE),
        ("this installation on another machine", _answer(doc(machine="mc_0000aaaa1111bbbb")), DEVICE),
    ]  # fmt: skip


def _stored_inputs() -> list[tuple[str, str, dt.datetime, int]]:
    """(name, the signed document kept in lease.json, local now, offset_seconds)."""
    borrow = signed_text(KEY_1, lease_document(borrowed=True, expires_at=to_iso(T0 + 7 * DAY)))
    behind = int(2 * DAY.total_seconds())
    return [
        ("borrowed, a day in", borrow, T0 + DAY, 0),
        ("borrowed, a second before its end", borrow, T0 + 7 * DAY - dt.timedelta(seconds=1), 0),
        ("borrowed, at its end", borrow, T0 + 7 * DAY, 0),
        ("borrowed, past its end", borrow, T0 + 8 * DAY, 0),
        ("borrowed, clock 2 days behind: its end by the server's time", borrow, T0 + 5 * DAY, behind),
        ("borrowed, clock 2 days behind, no offset kept", borrow, T0 + 5 * DAY, 0),
        ("borrowed, issued 11 minutes ahead of the set-right clock", borrow, T0 - 11 * MINUTE, 0),
        ("an ordinary lease is not used offline", signed_text(KEY_1, lease_document()), T0 + MINUTE, 0),
        ("borrowed, its end edited", mutate(borrow, set_doc("expires_at", to_iso(T0 + 300 * DAY))), T0 + DAY, 0),
        ("borrowed by another machine", signed_text(KEY_1, lease_document(
            borrowed=True, expires_at=to_iso(T0 + 7 * DAY),
            components={n: component_hash(PRODUCT, n, "x") for n in COMPONENTS})), T0 + DAY, 0),
    ]  # fmt: skip


def cases() -> list[dict[str, Any]]:
    base = {"product": PRODUCT, "pinned": pinned(KEY_1),
            "fingerprint": {"components": dict(COMPONENTS), "data_path": DATA_PATH}}  # fmt: skip
    known = signed_text(KEY_1, payload())
    out = []
    for name, answer, device in _answer_inputs():
        request = {"nonce": NONCE, "device": device, "known": known}
        case: dict[str, Any] = {"name": name, "mode": "answer", **base, "request": request, "answer": answer}
        case["expected"] = expected(case)
        out.append(case)
    for name, signed, now, offset in _stored_inputs():
        case = {"name": name, "mode": "stored", **base, "signed": signed, "now": to_iso(now), "offset_seconds": offset}
        case["expected"] = expected(case)
        out.append(case)
    return out
