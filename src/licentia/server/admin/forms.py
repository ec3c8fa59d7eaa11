"""What the device, license and token pages share about refused forms and confirmed actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from licentia.server.admin.web import from_htmx, render
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


@dataclass(frozen=True)
class Refused:
    """A form that was not saved, as its page shows it again: what was typed (``sent``), each error beside its
    field (``errors``; the key ``""`` is the form as a whole) and, above the form, the summary of them all."""

    sent: dict[str, str]
    errors: dict[str, str]
    status: int

    @property
    def context(self) -> dict[str, Any]:
        return {"sent": self.sent, "errors": self.errors}


def refused(request: Request, exc: ApiError, form: dict[str, str], field_of: Mapping[ErrorCode, str]) -> Refused:
    """``exc`` placed beside the field it is about: the field the refusal names (a value out of its field's shape),
    else the one ``field_of`` gives for its code, else the form as a whole."""
    named = exc.details.get("field")
    code = exc.code if isinstance(exc.code, ErrorCode) else None
    field = named if isinstance(named, str) and named in form else field_of.get(code, "") if code else ""
    return Refused(sent=form, errors={field: exc.message}, status=refused_status(request, exc.status))


def render_form(request: Request, template: str, refusal: Refused | None, **context: Any) -> HTMLResponse:
    """``template`` with its form empty, or as ``refusal`` left it (what was typed, the errors), at its status."""
    if refusal is None:
        return render(request, template, sent={}, errors={}, **context)
    return render(request, template, refusal.status, **refusal.context, **context)
