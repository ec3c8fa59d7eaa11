"""Metered use from the application: ``lic.consume("renders", 3)`` (``POST /v1/consume``).

The server counts; the SDK only asks. Each consumption carries an
idempotency key chosen here once, so the retries after a network error (the
answer may have been lost after the server counted) are counted once. A
refusal past the limit is :class:`~licentia.client.QuotaExceeded` with the
figures; nothing else but the SDK's documented errors is raised.

Imports nothing at module level beyond the SDK's own: ``licentia.client``
loads this module on every application start.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from licentia.client._exceptions import ConfigurationError, InvalidAnswer, Offline, QuotaExceeded, ServerRefused
from licentia.client._value import Value
from licentia.core.clock import from_iso
from licentia.core.vocabulary import ClientErrorCode

if TYPE_CHECKING:
    from licentia.client._client import Licentia

METER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
MAX_AMOUNT = 2**53 - 1
# Attempts of one consumption when the network fails (same idempotency key each time).
ATTEMPTS = 3


class Consumption(Value):
    """A meter's standing after a consumption (immutable): ``remaining`` of ``limit`` until ``period_end``.

    ``replayed`` is true when the server had already counted this consumption
    (a retry whose first answer was lost): it was counted once.
    ``period_end`` is None for a meter that never resets.
    """

    __slots__ = ("limit", "meter", "period", "period_end", "period_start", "remaining", "replayed", "used")
    meter: str
    used: int
    limit: int
    remaining: int
    period: str
    period_start: dt.datetime
    period_end: dt.datetime | None
    replayed: bool

    def __init__(
        self,
        meter: str,
        used: int,
        limit: int,
        remaining: int,
        period: str,
        period_start: dt.datetime,
        period_end: dt.datetime | None,
        replayed: bool = False,
    ) -> None:
        self._init(
            meter=meter, used=used, limit=limit, remaining=remaining, period=period,
            period_start=period_start, period_end=period_end, replayed=replayed,
        )  # fmt: skip


def _whole(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_AMOUNT:
        raise ValueError("not a count")
    return value


def consumption_of(unverified: Any) -> Consumption:
    """The server's figures, checked field by field; anything else is :class:`InvalidAnswer`."""
    try:
        end = unverified["period_end"]
        return Consumption(
            meter=str(unverified["meter"]),
            used=_whole(unverified["used"]),
            limit=_whole(unverified["limit"]),
            remaining=_whole(unverified["remaining"]),
            period=str(unverified["period"]),
            period_start=from_iso(str(unverified["period_start"])),
            period_end=None if end is None else from_iso(str(end)),
            replayed=unverified.get("replayed") is True,
        )
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise InvalidAnswer("the server's answer to a consumption is malformed") from exc


def _new_key() -> str:
    import uuid  # here: an application that never consumes never pays for it

    return uuid.uuid4().hex


def consume(owner: Licentia, meter: str, amount: int, idempotency_key: str | None) -> Consumption:
    """Count ``amount`` of ``meter`` on the server (see :meth:`Licentia.consume`)."""
    if not isinstance(meter, str) or not METER_NAME.match(meter):
        raise ConfigurationError(f"not a meter name: {meter!r}")
    if type(amount) is not int or not 0 <= amount <= MAX_AMOUNT:
        raise ConfigurationError(f"the amount is a whole number from 0, not {amount!r}")
    key = idempotency_key if idempotency_key is not None else _new_key()
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.match(key):
        raise ConfigurationError("an idempotency key is 1-64 printable ASCII characters without spaces")
    deadline = time.monotonic() + owner.transport.timeout * ATTEMPTS
    refreshed = False
    attempt = 0
    while True:
        attempt += 1
        if time.monotonic() >= deadline:
            raise Offline("no time left before the timeout")
        credential = owner.credential()
        body = {"meter": meter, "amount": amount, "token": owner.state_file.load().token, "idempotency_key": key}
        try:
            answer = owner.transport.request(
                "POST", "/v1/consume", body=body, credential=credential, timeout=deadline - time.monotonic()
            )
        except ServerRefused as exc:
            if exc.code == ClientErrorCode.QUOTA_EXCEEDED:
                raise QuotaExceeded(figures_of_refusal(exc, meter, owner.clock.now()), exc.message) from exc
            if exc.code in (ClientErrorCode.STALE_TOKEN, ClientErrorCode.INVALID_CREDENTIAL) and not refreshed:
                # Another process of this installation rotated the token (or the
                # secret was replaced): one online check brings the live ones.
                refreshed = True
                owner.check()
                continue
            raise
        except Offline:
            if attempt >= ATTEMPTS or time.monotonic() >= deadline:
                raise
            continue  # the same key: counted once even if the lost answer had been counted
        return consumption_of(answer)


def figures_of_refusal(exc: ServerRefused, meter: str, now: dt.datetime) -> Consumption:
    """The figures a ``quota_exceeded`` refusal carries; without readable ones: nothing left, as of ``now``."""
    try:
        return consumption_of({**exc.details, "meter": exc.details.get("meter", meter)})
    except InvalidAnswer:
        return Consumption(meter, 0, 0, 0, "unknown", now, None)
