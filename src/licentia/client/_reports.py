"""What the application tells the vendor (feedback, its uninstall): a base class of :class:`~licentia.client.Licentia`.

Kept apart and tiny: every application start imports this module, and only
the application that reports loads the event queue (``events.py``, SQLite)
and the enumerated event kinds (``core/vocabulary.py``, ``enum``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from licentia.client._client import Licentia
    from licentia.client._value import FlushResult


class Reports:
    def feedback(self, text: str, email: str | None = None) -> str:
        """Queue feedback from the user and try to send it now; returns its event id."""
        from licentia.core.vocabulary import EventKind

        lic = _licentia(self)
        data = {"text": text, "email": email} if email else {"text": text}
        event_id = lic.queue.add(EventKind.FEEDBACK, lic.clock.now(), data, lic.facts())
        lic.flush()
        return event_id

    def uninstall(self, *, forget: bool = False) -> FlushResult:
        """Report that the application is being uninstalled (call it from the uninstaller).

        The installation's credential stays in its escrow outside the data folder
        (``escrow.py``), so installing again on this computer resumes the same
        installation with its license. ``forget=True`` removes it too: a later
        install is then a new installation, which needs the license key again.
        """
        from licentia.core.vocabulary import EventKind

        lic = _licentia(self)
        lic.queue.add(EventKind.UNINSTALL, lic.clock.now(), {"app_version": lic.app_version}, lic.facts())
        sent = lic.flush()
        if forget:
            lic.escrow.forget()
        return sent


def _licentia(mixin: object) -> Licentia:
    """``typing.cast``, without importing typing: this class is a base of ``Licentia`` only."""
    return mixin  # type: ignore[return-value]
