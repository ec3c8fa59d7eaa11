"""What the device, license and token pages share about refused forms and confirmed actions."""

from __future__ import annotations

from fastapi import Request

from licentia.server.admin.web import from_htmx
from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import Reason, checked


def reason_of(form: dict[str, str]) -> str:
    """The reason a destructive action was confirmed with; none refuses it (the audit log keeps it), and so does
    one longer than the developer API's ``reason`` takes (it is refused, never cut)."""
    reason = optional_reason(form)
    if not reason:
        raise ApiError(ErrorCode.REASON_REQUIRED, "Give a reason: it is kept in the audit log and the history.")
    return reason


def optional_reason(form: dict[str, str]) -> str | None:
    """The reason given with an action that needs none (a grant of transfers, a status), held to the same rule."""
    reason: str = checked(Reason, form.get("reason", "").strip(), field="reason")
    return reason or None


def refused_status(request: Request, status: int) -> int:
    """The status of a page that comes back with errors beside its fields.

    A browser shows a 4xx page as it shows any other; htmx (the pages load it,
    and a boosted form posts through it) swaps only 2xx answers, so for htmx
    the same page answers 200 and the errors still show.
    """
    return 200 if from_htmx(request) else status


# The refusal of a change posted without its box ticked (a forged or replayed form, or a click in haste).
NOT_CONFIRMED = "Nothing changed: tick the box to confirm first."


def confirmed(form: dict[str, str]) -> bool:
    """Whether the form of a change that cannot be taken back was confirmed (``confirmed_tick`` in the pages).

    Checked here, on the server: the browser's ``required`` is a courtesy a script or an old page skips."""
    return form.get("confirm") == "yes"
