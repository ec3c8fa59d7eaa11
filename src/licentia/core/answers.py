"""Online answers a client can trust: bound to the request, and the server's time kept as an offset.

Every online call that returns a signed document (check, activate, deactivate,
a floating lease's checkout and heartbeat) sends a fresh random ``nonce`` (16
random bytes, unpadded base64url: ``licentia.client.answers.new_nonce``); the
server signs it into the document. After the signature verifies, a client
accepts the answer only when :func:`refusal` finds nothing wrong, in this order:

1. ``nonce``: the document carries exactly the nonce this request sent. A saved
   genuine answer (replayed by a fake server, however old or however far in
   the future it was issued) carries another nonce or none.
2. ``device``: the document names the installation that asked: the one whose
   credential the request carried, or the one whose new credential the answer
   carries (first contact, or a state the server re-identified).
3. ``machine``: when the document names the installation that asked and the
   client holds a verified document of it, the same machine as that one (an
   installation never changes machine; a copy the server re-identified is a
   new installation, with a new credential, and may be on another machine).

The fingerprint rule (components K of N, the data path) then applies as for
stored documents. Product and key are the signature's own checks.

A bound answer's ``issued_at`` is the server's time, fresh to within the
round trip; the client keeps ``issued_at - local now`` (:func:`clock_offset`)
in its sealed state and judges offline on its own clock plus that offset
(:func:`server_time`), so a clock that is constantly hours or days off works
offline too. Clock rollback is judged on the local clock alone: against the
latest local time the client has seen (its sealed ``last_seen`` and its files'
modification times, all local), never against the server's time.
"""

from __future__ import annotations

from licentia.core.clock import timedelta

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "NONCE_MISMATCH",
    "OTHER_INSTALLATION",
    "OTHER_MACHINE",
    "clock_offset",
    "refusal",
    "server_time",
]

# Why an answer is refused (the conformance vectors name them; clients raise their one documented error).
NONCE_MISMATCH = "nonce_mismatch"
OTHER_INSTALLATION = "other_installation"
OTHER_MACHINE = "other_machine"
# Offsets beyond a century are nonsense (a document's time is years 1-9999): treated as none.
_MAX_OFFSET_SECONDS = 100 * 366 * 86400


def refusal(
    payload: Mapping[str, Any],
    *,
    nonce: str,
    device: str | None,
    machine: str | None,
    credential_device: str | None,
) -> str | None:
    """Why a verified online answer is not the answer to this request (``None``: it is).

    ``device``: the installation whose credential the request carried (None at
    first contact); ``credential_device``: the installation a new credential in
    the answer names (None when none came with it); ``machine``: the machine of
    the verified document the client holds for ``device``, if any.
    """
    found = payload.get("nonce")
    if not isinstance(found, str) or found != nonce:
        return NONCE_MISMATCH
    asked = credential_device if credential_device is not None else device
    named = payload.get("device")
    if asked is None or not isinstance(named, str) or named != asked:
        return OTHER_INSTALLATION
    if machine is not None and named == device and payload.get("machine") != machine:
        return OTHER_MACHINE
    return None


def clock_offset(issued_at: dt.datetime, local_now: dt.datetime) -> int:
    """Whole seconds to add to the local clock to get the server's (``issued_at`` of a bound answer).

    Rounded up: ``issued_at`` is the server's time cut to the second when it
    answered, so the server's time at receipt is at least that; judging on a
    server time a fraction of a second late never grants more than was signed.
    """
    seconds = int(-(-(issued_at - local_now).total_seconds() // 1))
    return seconds if -_MAX_OFFSET_SECONDS <= seconds <= _MAX_OFFSET_SECONDS else 0


def server_time(local_now: dt.datetime, offset_seconds: int) -> dt.datetime:
    """The server's time now, by the local clock and the kept offset."""
    if not -_MAX_OFFSET_SECONDS <= offset_seconds <= _MAX_OFFSET_SECONDS:
        return local_now
    try:
        return local_now + timedelta(seconds=offset_seconds)
    except OverflowError:  # a local clock at the ends of the calendar
        return local_now
