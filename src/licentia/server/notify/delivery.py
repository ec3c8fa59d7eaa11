"""Sending one outbox message: an email over SMTP, or a signed webhook POST.

Both raise :class:`DeliveryFailed` with a message safe to store in
``outbox.last_error`` and to log: it never contains a webhook URL (it may carry
a token in its query string), a secret, a password, or the message body.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

import licentia
from licentia.core.clock import to_iso
from licentia.server.notify.signature import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from licentia.server.settings import Settings

WEBHOOK_TIMEOUT_SECONDS = 10.0
_MAX_ERROR = 500


class DeliveryFailed(Exception):
    """This attempt failed; ``permanent`` means retrying cannot help (the webhook was removed)."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message[:_MAX_ERROR])
        self.permanent = permanent
        # The receiver's HTTP status, when it answered (the delivery log shows it).
        self.status = status


def _domain(address: str) -> str:
    _, addr = email.utils.parseaddr(address)
    return addr.rpartition("@")[2] or "localhost"


def email_message(payload: dict[str, Any], *, message_id: str, sender: str, now: dt.datetime) -> EmailMessage:
    """A MIME message: plain text, an HTML alternative when the payload has one, and its attached files."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload["to"])
    # Subjects are flattened when queued; flatten again in case a row was written by other code.
    message["Subject"] = " ".join(str(payload.get("subject", "")).split())
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = message_id
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message.set_content(payload.get("text") or "")
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    for item in payload.get("attachments") or ():
        maintype, _, subtype = str(item.get("content_type") or "text/plain").partition("/")
        message.add_attachment(
            str(item.get("text") or "").encode("utf-8"),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=str(item.get("filename") or "attachment"),
        )
    return message


def stable_message_id(row_id: int, created_at: dt.datetime, sender: str) -> str:
    """The same Message-ID on every retry, so a mail system that got it twice can drop the copy."""
    return f"<licentia.outbox.{row_id}.{int(created_at.timestamp())}@{_domain(sender)}>"


async def send_email(payload: dict[str, Any], *, settings: Settings, message_id: str, now: dt.datetime) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("SMTP is not configured (LICENTIA_SMTP_HOST)")
    message = email_message(payload, message_id=message_id, sender=settings.smtp_from, now=now)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password if settings.smtp_username else None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        # aiosmtplib's messages hold the server's reply, never our password.
        raise DeliveryFailed(f"smtp: {type(exc).__name__}: {exc}") from exc


def webhook_body(*, message_id: str, topic: str, created_at: dt.datetime, data: dict[str, Any]) -> bytes:
    # "event" names what happened (notify.catalog); "topic" says the same, for receivers written before.
    document = {"id": message_id, "event": topic, "topic": topic, "created_at": to_iso(created_at), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


async def post_webhook(
    client: httpx.AsyncClient, *, url: str, secret: str, body: bytes, event_id: str, now: dt.datetime
) -> int:
    """POST ``body`` signed with ``secret``; only a 2xx answer counts as delivered (its status is returned).

    Redirects are not followed: a 3xx is a failure, so a receiver cannot bounce
    the signed body to another host.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Licentia/{licentia.__version__}",
        SIGNATURE_HEADER: sign(secret, body, at=now),
        EVENT_ID_HEADER: event_id,
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        # The URL may carry a token in its query string: never store or log it.
        reason = str(exc).replace(url, "<url>")
        raise DeliveryFailed(f"webhook: {type(exc).__name__}: {reason}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook: HTTP {response.status_code}", status=response.status_code)
    return response.status_code
