"""What a vendor reads: the email and webhook bodies for one notifying event.

Everything here is pure (no database, no I/O). Event data comes from clients,
so it is untrusted: it is escaped in HTML, flattened to one line in subjects
(threat: a feedback text with newlines injecting mail headers or faking a
second message), and shortened so one event cannot send a megabyte of text.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from licentia.core.clock import to_iso
from licentia.core.vocabulary import EventKind, Topic
from licentia.server.errors import ErrorCode

# The topics (core.vocabulary.Topic) are the switches of ``products.notify["on"]`` and the webhook topics.
_TITLES: dict[str, str] = {
    Topic.INSTALL: "New installation",
    Topic.UNINSTALL: "Uninstalled",
    Topic.FEEDBACK: "New feedback",
    Topic.REGISTER: "License activated",
    Topic.PIRACY: "Piracy signal",
}
_PIRACY_REASONS: dict[str, str] = {
    EventKind.CLONE_SUSPECTED: "a copied installation was detected (its state showed up on another machine)",
    EventKind.INVALID_KEY: "someone tried a license key that was never issued for this product",
    ErrorCode.TOO_MANY_DEVICES: "a license key was tried on more devices than it allows",
}
_MAX_VALUE = 2000
_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,255}$")


def one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def plausible_email(text: Any) -> str | None:
    """``text`` if it looks like one bare address (safe as a Reply-To), else None."""
    if isinstance(text, str) and _EMAIL.match(text.strip()):
        return text.strip()
    return None


def piracy_reason(row: dict[str, Any]) -> str:
    kind = row["kind"]
    if kind == EventKind.REGISTER:
        return ErrorCode.TOO_MANY_DEVICES.value
    return str(kind)


def _facts_lines(row: dict[str, Any]) -> list[tuple[str, str]]:
    data = row.get("data") or {}
    lines: list[tuple[str, str]] = [("Device", str(row.get("device_id") or "unknown"))]
    if row["kind"] in (EventKind.REGISTER, EventKind.INVALID_KEY) and data.get("key_prefix"):
        # Only the prefix ever reaches an event; the full key is never in a notification.
        lines.append(("License key", f"{data['key_prefix']}-…"))
    for name in ("version", "app_version", "os", "reason"):
        if data.get(name) not in (None, ""):
            lines.append((name.replace("_", " ").capitalize(), one_line(data[name], 200)))
    facts = row.get("client_facts") or {}
    for name, value in sorted(facts.items())[:10]:
        if value not in (None, ""):
            lines.append((one_line(name, 64), one_line(value, 200)))
    ip = (row.get("server_facts") or {}).get("external_ip")
    if ip:
        lines.append(("IP address", str(ip)))
    return lines


def vendor_email(*, topic: str, product_name: str, row: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) telling the vendor about one event."""
    received: dt.datetime = row["received_at"]
    title = _TITLES[topic]
    subject = one_line(f"[{product_name}] {title}")
    intro = f"{title} for {product_name} on {to_iso(received)}."
    if topic == Topic.PIRACY:
        intro += f" Reason: {_PIRACY_REASONS.get(piracy_reason(row), piracy_reason(row))}."
    lines = _facts_lines(row)
    feedback = None
    if topic == Topic.FEEDBACK:
        data = row.get("data") or {}
        feedback = str(data.get("text") or "")[:_MAX_VALUE]
        if data.get("email"):
            lines.append(("From", one_line(data["email"], 320)))
    text_parts = [intro, ""]
    text_parts += [f"{name}: {value}" for name, value in lines]
    if feedback is not None:
        text_parts += ["", "Message:", feedback]
    text_parts += ["", "-- ", "Sent by Licentia. Change these notifications in the product's settings."]
    rows_html = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>" for name, value in lines
    )
    body_html = f"<p>{html.escape(intro)}</p><table>{rows_html}</table>"
    if feedback is not None:
        body_html += f"<blockquote style='white-space:pre-wrap'>{html.escape(feedback)}</blockquote>"
    body_html += "<p style='color:#777'>Sent by Licentia. Change these notifications in the product's settings.</p>"
    return subject, "\n".join(text_parts) + "\n", f"<html><body>{body_html}</body></html>"


def webhook_data(*, topic: str | None, product_slug: str, row: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a webhook delivery: the event as stored (only key prefixes, never keys)."""
    data: dict[str, Any] = {
        "product": product_slug,
        "event": {
            "id": row.get("id"),
            "kind": row["kind"],
            "client_event_id": row.get("client_event_id"),
            "device_id": row.get("device_id"),
            "license_id": row.get("license_id"),
            "occurred_at": to_iso(row["occurred_at"]) if row.get("occurred_at") else None,
            "received_at": to_iso(row["received_at"]),
            "data": row.get("data") or {},
            "client_facts": row.get("client_facts") or {},
            "server_facts": row.get("server_facts") or {},
        },
    }
    if topic == Topic.PIRACY:
        data["reason"] = piracy_reason(row)
    return data
