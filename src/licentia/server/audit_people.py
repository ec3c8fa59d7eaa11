"""The audit sentences of people and how they sign in: admin accounts, named users' seats, the device sign-in and
single sign-on connections (``audit.AuditAction.ADMIN_*``, ``LICENSE_USER_*``, ``PORTAL_USER_SIGN_IN``,
``SSO_CONNECTION_*``), one function each.

Kept apart from ``audit`` so that module stays readable; ``audit.SENTENCES`` names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licentia.server.audit_words import Words, counted, listed, shown

SECOND_FACTOR = {"totp": " with a two-factor code", "recovery_code": " with a recovery code"}


def _if(w: Words, key: str, template: str, d: Mapping[str, Any]) -> str:
    """``template`` with the detail ``key`` shown, or nothing when the entry has no such detail."""
    return w.say(template, shown(d[key])) if d.get(key) not in (None, "", [], {}) else ""


def admin_create(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Created the admin account {}{}", d.get("email") or w.admin(t), _if(w, "role", " ({})", d))


def admin_disable(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Disabled {} (signed out everywhere)", w.admin(t, d.get("email")))


def admin_enable(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Enabled {} again", w.admin(t, d.get("email")))


def admin_locked(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Locked {} for a while after repeated wrong passwords or codes", w.admin(t))


def admin_password(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Changed the password of {}", w.admin(t))


def admin_recovery_code_used(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Used a recovery code to sign in ({} left)", counted(d.get("left", 0), "code"))


def admin_remove(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Removed the admin account {}", d.get("email") or w.admin(t))


def admin_role(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Made {} {} (was {})", w.admin(t, d.get("email")), shown(d.get("role")), shown(d.get("previous")))


def admin_sign_in(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Signed in{}{}",
        " through single sign-on" if d.get("method") == "sso" else "",
        SECOND_FACTOR.get(str(d.get("second_factor")), ""),
    )


def admin_sign_out(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Signed out")


def admin_totp_off(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Turned off two-factor sign-in for {}", w.admin(t))


def admin_totp_on(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Turned on two-factor sign-in for {}", w.admin(t))


def seat_given(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Gave {} a user seat of {}", shown(d.get("email")), w.license(t))


def seat_freed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    why = w.say(": “{}”", d["reason"]) if d.get("reason") else ""
    return w.say("Freed the user seat {} held on {}{}", shown(d.get("email")), w.license(t), why)


def seat_moved(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Moved the user seat of {} on {} to {}", shown(d.get("email")), w.license(t), shown(d.get("to")))


def device_signed_in(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Signed {} in on {} with a user seat of {} (the device sign-in)",
        shown(d.get("email")),
        w.machine(d.get("device")),
        w.license(t),
    )


def connection_added(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say(
        "Added single sign-on connection #{} ({}, {}){}",
        t,
        shown(d.get("purpose")),
        shown(d.get("issuer")),
        w.say(" for {}", listed(d["domains"])) if d.get("domains") else "",
    )


def connection_removed(t: Any, d: Mapping[str, Any], w: Words) -> str:
    return w.say("Removed single sign-on connection #{} ({})", t, shown(d.get("issuer")))
