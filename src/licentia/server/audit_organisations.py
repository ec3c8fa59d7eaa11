"""The audit sentences of organisations (``audit.AuditAction.ORGANISATION_*``), one function each.

Kept apart from ``audit`` so that module stays readable; ``audit.SENTENCES`` names them.
Staff and customers both write these entries: the actor column says who (``admin:...``,
``token:...``, ``customer:<email>``, ``payment:<provider>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licentia.server.audit_words import Words, shown


def _org(w: Words, target: Any, d: Mapping[str, Any]) -> str:
    return w.say("organisation #{}{}", target or "?", w.say(" “{}”", d["name"]) if d.get("name") else "")


def created(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Created {}{}", _org(w, t, d), w.say(", its owner invited: {}", d["owner"]) if d.get("owner") else "")


def renamed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Renamed organisation #{} to “{}” (was “{}”)", t or "?", shown(d.get("name")), shown(d.get("previous"))
    )


def licensed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    attached = d.get("attached", True)
    return w.say(
        "{} {} {} organisation #{}",
        "Attached" if attached else "Detached",
        w.license(d.get("license_id")),
        "to" if attached else "from",
        t or "?",
    )


def seats(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Set the seats of {} (organisation #{}) to {} (was {})",
        w.license(d.get("license_id")),
        t or "?",
        shown(d.get("seats")),
        shown(d.get("previous")),
    )


def invited(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Invited {} to organisation #{} as {}", shown(d.get("email")), t or "?", shown(d.get("role")))


def joined(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Joined organisation #{} as {} ({})", t or "?", shown(d.get("role")), shown(d.get("email")))


def role_changed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Made {} {} of organisation #{} (was {})",
        shown(d.get("email")),
        shown(d.get("role")),
        t or "?",
        shown(d.get("previous")),
    )


def removed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Removed {} from organisation #{}", shown(d.get("email")), t or "?")


def left(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Left organisation #{} ({})", t or "?", shown(d.get("email")))
