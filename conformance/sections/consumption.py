"""``consumption``: the server's answer to ``POST /v1/consume``, as what ``consume()`` returns or raises.

The server counts; the SDK only reads its figures, field by field (``client.meters.consume``,
``consumption_of``, ``figures_of_refusal``; ``client.transport.refusal_of``). Nothing the answer
says is signed: a wrong figure misinforms the application and never grants anything.
"""

from __future__ import annotations

import json
from typing import Any

from licentia.client._exceptions import InvalidAnswer, ServerRefused
from licentia.client.meters import Consumption, consumption_of, figures_of_refusal
from licentia.client.transport import parse_answer, refusal_of
from licentia.core.clock import from_iso, to_iso
from licentia.core.vocabulary import ClientErrorCode
from sections.common import T0

METER = "renders"
FIGURES = {
    "meter": METER, "used": 97, "limit": 100, "remaining": 3, "period": "month",
    "period_start": "2026-03-01T00:00:00Z", "period_end": "2026-04-01T00:00:00Z", "replayed": False,
}  # fmt: skip


def _ok(**changes: Any) -> tuple[int, str]:
    return 200, json.dumps({**FIGURES, **changes}, separators=(",", ":"))


def _error(status: int, code: Any, message: Any = "refused", **extra: Any) -> tuple[int, str]:
    return status, json.dumps({"error": {"code": code, "message": message, **extra}}, separators=(",", ":"))


def _inputs() -> list[tuple[str, tuple[int, str]]]:
    """(name, (HTTP status, the answer's body as text))."""
    quota = "meter 'renders': 5 more would pass the limit of 100 per month (3 left)"
    return [
        ("counted", _ok()),
        ("counted, a meter that never resets", _ok(period="lifetime", period_end=None)),
        ("a retry already counted: replayed", _ok(replayed=True)),
        ("replayed only when true", _ok(replayed="yes")),
        ("nothing left", _ok(used=100, remaining=0)),
        ("the largest count", _ok(used=9007199254740991, limit=9007199254740991, remaining=0)),
        ("unknown fields are ignored", _ok(unit="frames", note={"a": 1})),
        ("a count past 2^53-1 is malformed", _ok(used=9007199254740992)),
        ("a negative count is malformed", _ok(remaining=-1)),
        ("a count as text is malformed", _ok(used="97")),
        ("a count of true is malformed", _ok(limit=True)),
        ("a count missing is malformed", (200, json.dumps({k: v for k, v in FIGURES.items() if k != "limit"}))),
        ("an unreadable period start is malformed", _ok(period_start="the first")),
        ("period end missing is malformed", (200, json.dumps({k: v for k, v in FIGURES.items() if k != "period_end"}))),
        ("not an object", (200, "[1, 2, 3]")),
        ("not JSON", (200, "<html>Bad gateway</html>")),
        ("quota exceeded, with the figures", _error(409, "quota_exceeded", quota, **{**FIGURES, "used": 97})),
        ("quota exceeded, figures without the meter", _error(409, "quota_exceeded", quota,
                                                             **{k: v for k, v in FIGURES.items() if k != "meter"})),
        ("quota exceeded without figures: nothing left", _error(409, "quota_exceeded", "no more")),
        ("quota exceeded, nested figures are not read", _error(409, "quota_exceeded", quota, figures=FIGURES)),
        ("a stale token: one check, then the same consumption again", _error(409, "stale_token")),
        ("a voided credential: one check, then again", _error(401, "invalid_credential")),
        ("an unknown meter", _error(404, "unknown_meter", "this license has no meter 'renders'")),
        ("an idempotency key reused for another consumption", _error(409, "idempotency_key_reused")),
        ("an error without a code", (400, json.dumps({"error": {"message": "bad"}}))),
        ("an error whose code is not text", _error(400, ["quota_exceeded"])),
        ("an error that is not JSON", (403, "Forbidden")),
        ("the server cannot answer: offline, retried with the same key", (503, "")),
        ("a server error: offline", (500, json.dumps({"error": {"code": "quota_exceeded", "message": "x"}}))),
    ]  # fmt: skip


def _figures(found: Consumption) -> dict[str, Any]:
    figures = found.as_dict()
    figures["period_start"] = to_iso(found.period_start)
    figures["period_end"] = to_iso(found.period_end) if found.period_end else None
    return figures


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What ``Licentia.consume(meter, ...)`` does with the answer (``meters.consume``'s branches)."""
    status, raw = case["status"], case["body"].encode("utf-8")
    if status < 300:
        try:
            return {"outcome": "consumed", "code": None, "consumption": _figures(consumption_of(parse_answer(raw, "")))}
        except InvalidAnswer:
            return {"outcome": "invalid_answer", "code": None, "consumption": None}
    refused = refusal_of(status, raw, None)
    if not isinstance(refused, ServerRefused):
        return {"outcome": "offline", "code": None, "consumption": None}
    if refused.code == ClientErrorCode.QUOTA_EXCEEDED:
        figures = figures_of_refusal(refused, case["meter"], from_iso(case["now"]))
        return {"outcome": "quota_exceeded", "code": refused.code, "consumption": _figures(figures)}
    if refused.code in (ClientErrorCode.STALE_TOKEN, ClientErrorCode.INVALID_CREDENTIAL):
        return {"outcome": "check_and_retry", "code": refused.code, "consumption": None}
    return {"outcome": "refused", "code": refused.code, "consumption": None}


def cases() -> list[dict[str, Any]]:
    out = []
    for name, (status, body) in _inputs():
        case: dict[str, Any] = {"name": name, "meter": METER, "now": to_iso(T0), "status": status, "body": body}
        case["expected"] = expected(case)
        out.append(case)
    return out
