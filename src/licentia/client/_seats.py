"""Floating seats and metered use on :class:`~licentia.client.Licentia`, a base class of it.

Kept apart and tiny: every application start imports this module, and only the
application that checks out a floating seat (``leases.py``, threads) or counts
metered use (``meters.py``) loads that logic.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from licentia.client._client import Licentia
    from licentia.client.leases import Lease
    from licentia.client.meters import Consumption


class SeatsAndMeters:
    def checkout(self, key: str, *, borrow_days: int | None = None, heartbeats: bool = True) -> Lease:
        """A floating seat, kept by heartbeats in a daemon thread (``borrow_days``: offline use); client/leases.py."""
        from licentia.client.leases import checkout

        return checkout(_licentia(self), key, borrow_days=borrow_days, heartbeats=heartbeats)

    def consume(self, meter: str, amount: int = 1, *, idempotency_key: str | None = None) -> Consumption:
        """Count ``amount`` of ``meter`` online, once even when retried; past the limit: QuotaExceeded."""
        from licentia.client.meters import consume

        return consume(_licentia(self), meter, amount, idempotency_key)


def _licentia(mixin: object) -> Licentia:
    """``typing.cast``, without importing typing: this class is a base of ``Licentia`` only."""
    return mixin  # type: ignore[return-value]
