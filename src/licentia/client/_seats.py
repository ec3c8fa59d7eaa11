"""Floating seats, user seats and metered use on :class:`~licentia.client.Licentia`, a base class of it.

Kept apart and tiny: every application start imports this module, and only the
application that checks out a floating seat (``leases.py``, threads), signs its
user in (``signin.py``) or counts metered use (``meters.py``) loads that logic.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from collections.abc import Callable

    from licentia.client._client import Licentia
    from licentia.client.leases import Lease
    from licentia.client.meters import Consumption
    from licentia.client.signin import SignInCode
    from licentia.client.status import Status


class SeatsAndMeters:
    def checkout(self, key: str, *, borrow_days: int | None = None, heartbeats: bool = True) -> Lease:
        """A floating seat, kept by heartbeats in a daemon thread (``borrow_days``: offline use); client/leases.py."""
        from licentia.client.leases import checkout

        return checkout(_licentia(self), key, borrow_days=borrow_days, heartbeats=heartbeats)

    def begin_sign_in(self) -> SignInCode:
        """Start signing this installation's user in (a license whose seats are users): the code to show them.

        Show ``code.user_code`` and ``code.verification_uri`` (or open
        ``code.verification_uri_complete``), then call :meth:`finish_sign_in`.
        """
        from licentia.client.signin import begin

        return begin(_licentia(self))

    def finish_sign_in(self, code: SignInCode, *, timeout: float | None = None) -> Status:
        """Wait, polling every ``code.interval`` seconds, until the person confirmed the code: the status, naming them.

        Raises ``ServerRefused`` (``access_denied``, ``expired_token``) or ``Offline`` after ``timeout`` seconds.
        """
        from licentia.client.signin import finish

        return finish(_licentia(self), code, timeout=timeout)

    def sign_in(self, show: Callable[[SignInCode], None], *, timeout: float | None = None) -> Status:
        """Both steps: ``show(code)`` tells the person where to confirm it, then wait for them (``Status.user``)."""
        code = self.begin_sign_in()
        show(code)
        return self.finish_sign_in(code, timeout=timeout)

    def consume(self, meter: str, amount: int = 1, *, idempotency_key: str | None = None) -> Consumption:
        """Count ``amount`` of ``meter`` online, once even when retried; past the limit: QuotaExceeded."""
        from licentia.client.meters import consume

        return consume(_licentia(self), meter, amount, idempotency_key)


def _licentia(mixin: object) -> Licentia:
    """``typing.cast``, without importing typing: this class is a base of ``Licentia`` only."""
    return mixin  # type: ignore[return-value]
