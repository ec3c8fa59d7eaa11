"""The email that gives a customer their license key.

The full key is never stored in clear: the outbox row carries its masked form,
and the key itself only sealed with the server's key until the email is sent
(threat: a database backup or a read-only SQL account would otherwise leak
every key ever sold; see :mod:`licentia.server.notify.sealing`).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.licensekeys import masked
from licentia.server.notify.messages import one_line
from licentia.server.notify.outbox import enqueue_email

LICENSE_TOPIC = "license"


def license_email_body(
    *, customer_name: str | None, product_name: str, key: str, certificate: tuple[str, str] | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) of the license email; ``certificate`` is the attached certificate's (text, html)."""
    product = one_line(product_name, 120)
    greeting = f"Hello {one_line(customer_name, 120)}," if customer_name else "Hello,"
    subject = f"Your license key for {product}"
    text = (
        f"{greeting}\n\n"
        f"Thank you for buying {product}. Here is your license key:\n\n"
        f"    {key}\n\n"
        f"To activate, open {product}, choose to enter a license key, and paste the key above.\n"
        "Keep this email: you will need the key again if you reinstall or move to a new computer.\n"
        "Please do not share the key; it works on a limited number of devices.\n\n"
        + (f"{certificate[0]}\n" if certificate else "")
        + "If anything goes wrong, just reply to this email.\n"
    )
    body_html = (
        "<html><body>"
        f"<p>{html.escape(greeting)}</p>"
        f"<p>Thank you for buying {html.escape(product)}. Here is your license key:</p>"
        "<p style='font-family:monospace;font-size:1.3em;letter-spacing:0.05em;"
        f"padding:0.6em;background:#f3f3f3;display:inline-block'>{html.escape(key)}</p>"
        f"<p>To activate, open {html.escape(product)}, choose to enter a license key, and paste the key above.</p>"
        "<p>Keep this email: you will need the key again if you reinstall or move to a new computer. "
        "Please do not share the key; it works on a limited number of devices.</p>"
        + (certificate[1] if certificate else "")
        + "<p>If anything goes wrong, just reply to this email.</p>"
        "</body></html>"
    )
    return subject, text, body_html


def send_license_email(
    conn: sa.Connection,
    *,
    to: str,
    customer_name: str | None,
    product_name: str,
    key: str,
    now: dt.datetime,
    dedupe_key: str,
    fernet: Fernet,
    certificate: tuple[str, str] | None = None,
    attachments: Sequence[dict[str, str]] = (),
    reply_to: str | None = None,
) -> bool:
    """Queue the license email in the caller's transaction; False if ``dedupe_key`` was already queued.

    Call it in the transaction that issues the license: if issuing is rolled
    back, no email goes out; if SMTP is down, the worker retries.
    """
    subject, text, body_html = license_email_body(
        customer_name=customer_name, product_name=product_name, key=key, certificate=certificate
    )
    return enqueue_email(
        conn,
        to=[to],
        subject=subject,
        text=text,
        html=body_html,
        topic=LICENSE_TOPIC,
        now=now,
        dedupe_key=dedupe_key,
        secrets={key: masked(key)},
        fernet=fernet,
        attachments=attachments,
        reply_to=reply_to,
    )


def send_license_key(
    conn: sa.Connection,
    *,
    license_id: int,
    key: str,
    to: str,
    customer_name: str | None,
    product_name: str,
    now: dt.datetime,
    dedupe_key: str,
    fernet: Fernet,
    reply_to: str | None = None,
) -> bool:
    """The license email with the license's purchase certificate (signed now) in its text and attached."""
    # Imported here: the certificate reads the license through licenses.changes, which imports this module.
    from licentia.server.licenses.certificate import attachment, readable, sign_certificate

    signed = sign_certificate(conn, license_id=license_id, now=now, fernet=fernet)
    return send_license_email(
        conn,
        to=to,
        customer_name=customer_name,
        product_name=product_name,
        key=key,
        now=now,
        dedupe_key=dedupe_key,
        fernet=fernet,
        certificate=readable(signed.payload),
        attachments=[attachment(signed)],
        reply_to=reply_to,
    )


def license_email_key(license_id: int) -> str:
    """The outbox dedupe key of a license's first key email (its resends extend it, see ``licenses.resend``)."""
    return f"license-key:{license_id}"
