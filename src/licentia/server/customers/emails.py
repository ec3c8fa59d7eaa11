"""Emails a customer is glad to get: sign-in link, renewal, cancellation, trial ending (keys: notify.license_email).

Each is plain text plus HTML, names the product, and carries the reply-to the
vendor set (per product in ``customer_email_settings``, else the
``customer_reply_to`` setting), so a customer's answer reaches a person.
They go through the notification outbox (``notify.outbox.enqueue_email``) in
the transaction of their cause. Secrets in them (a key, a sign-in link) are
sealed with the server's key in the stored row (``notify.sealing``): only
their masks are readable there, and the seal is dropped once the email is sent.

Untrusted text (a customer's name from a payment provider) is flattened to one
line and escaped in HTML.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.server.notify.messages import one_line, plausible_email
from licentia.server.notify.outbox import enqueue_email
from licentia.server.store.tables import email_settings

CUSTOMER_TOPIC = "customer"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def _compose(subject: str, greeting: str, paragraphs: list[str], *, footer: str, link: str = "") -> Email:
    """Plain text and HTML of one email; the paragraph that is ``link`` is a link to click in the HTML part."""
    paragraphs = [p for p in paragraphs if p]
    text = "\n\n".join([greeting, *paragraphs, footer]) + "\n"

    def part(p: str) -> str:
        shown = html.escape(p)
        return f"<p><a href='{shown}'>{shown}</a></p>" if link and p == link else f"<p>{shown}</p>"

    body = "".join(part(p) for p in [greeting, *paragraphs])
    body += f"<p style='color:#6b7280'>{html.escape(footer)}</p>"
    return Email(subject, text, f"<html><body style='font-family:sans-serif'>{body}</body></html>")


def _greeting(name: str | None) -> str:
    return f"Hello {one_line(name, 120)}," if name else "Hello,"


def reply_to_for(conn: sa.Connection, *, product_id: int | None, default: str | None) -> str | None:
    if product_id is not None:
        chosen = conn.execute(
            sa.select(email_settings.c.reply_to).where(email_settings.c.product_id == product_id)
        ).scalar()
        if chosen:
            return plausible_email(chosen)
    return plausible_email(default) if default else None


def signin_email(*, link: str, minutes: int, products: Sequence[str] = ()) -> Email:
    """The portal's sign-in link; the subject names the products of the address's licenses (two at most)."""
    names = [one_line(p, 80) for p in products]
    what = " and ".join(names) if 1 <= len(names) <= 2 else "your licenses"
    return _compose(
        f"Your sign-in link for {what}",
        "Hello,",
        [
            f"Open this link to sign in to your licenses of {what}. It works once, for {minutes} minutes:",
            link,
            "If you did not ask to sign in, ignore this email: nobody can sign in without the link.",
        ],
        footer="You get this email because someone asked for a sign-in link for this address.",
        link=link,
    )


def invitation_email(*, organisation: str, role: str, link: str, days: int) -> Email:
    """An invitation to join an organisation: accepted in the portal, signed in as the invited address."""
    name = one_line(organisation, 120)
    return _compose(
        f"You are invited to join {name}",
        "Hello,",
        [
            f"You are invited to join {name} as {role}, to see and manage its licenses.",
            f"Open this link, sign in with this email address and accept. It works once, for {days} days:",
            link,
            "If you did not expect this invitation, ignore this email: nothing happens without your acceptance.",
        ],
        footer="You get this email because someone invited this address to an organisation.",
        link=link,
    )


def seats_reduced_email(*, organisation: str, product_name: str, seats: int, in_use: int) -> Email:
    """To an organisation's owners and admins: fewer seats than machines holding them after a downgrade."""
    name, product = one_line(organisation, 120), one_line(product_name, 120)
    return _compose(
        f"{product}: {name} now has {seats} seat{'s' if seats != 1 else ''}",
        "Hello,",
        [
            f"The subscription of {name} to {product} now pays for {seats} seats; {in_use} machines hold one.",
            "They keep working. A new machine can take a seat once enough are freed: free the ones no longer "
            "used on the license's page in the portal.",
        ],
        footer="You get this email because you own or administer this organisation.",
    )


def user_seat_freed_email(*, organisation: str, product_name: str, seats: int) -> Email:
    """To a person whose user seat an organisation's downgrade freed (the most recently active kept theirs)."""
    name, product = one_line(organisation, 120), one_line(product_name, 120)
    return _compose(
        f"{product}: your seat at {name} was freed",
        "Hello,",
        [
            f"{name} now pays for {seats} seat{'s' if seats != 1 else ''} of {product}; the people who used it "
            "most recently keep theirs, and yours was freed. Your computers are signed out of it at their next check.",
            f"Ask an owner or admin of {name} for a seat if you still need one.",
        ],
        footer="You get this email because you held a seat of this organisation's license.",
    )


def renewal_email(*, name: str | None, product_name: str, expires_at: dt.datetime | None) -> Email:
    product = one_line(product_name, 120)
    until = f"It is now valid until {expires_at:%Y-%m-%d}." if expires_at else "It does not expire."
    return _compose(
        f"Your {product} license is renewed",
        _greeting(name),
        [f"Thank you: your payment for {product} went through and your license is renewed.", until],
        footer="Nothing to do on your computers: they pick up the new date at their next check.",
    )


def cancellation_email(*, name: str | None, product_name: str, ends_at: dt.datetime | None) -> Email:
    product = one_line(product_name, 120)
    when = f"It keeps working until {ends_at:%Y-%m-%d}, the end of the period you paid for." if ends_at else ""
    return _compose(
        f"Your {product} subscription is cancelled",
        _greeting(name),
        [f"Your subscription to {product} is cancelled and will not renew.", when, "Changed your mind? Reply."],
        footer="You get this email because your subscription changed.",
    )


def trial_ending_email(*, name: str | None, product_name: str, ends_at: dt.datetime, days: int) -> Email:
    product = one_line(product_name, 120)
    return _compose(
        f"Your {product} trial ends in {days} day{'s' if days != 1 else ''}",
        _greeting(name),
        [
            f"Your trial of {product} ends on {ends_at:%Y-%m-%d}.",
            "Your subscription then starts and your license keeps working. Reply if you have questions.",
        ],
        footer="You get this email because you started a trial.",
    )


def send(
    conn: sa.Connection,
    email: Email,
    *,
    to: str,
    now: dt.datetime,
    dedupe_key: str | None,
    reply_to: str | None,
    secrets: dict[str, str] | None = None,
    fernet: Fernet | None = None,
    attachments: Sequence[dict[str, str]] = (),
) -> bool:
    return enqueue_email(
        conn,
        to=[to],
        subject=email.subject,
        text=email.text,
        html=email.html,
        topic=CUSTOMER_TOPIC,
        now=now,
        dedupe_key=dedupe_key,
        reply_to=reply_to,
        secrets=secrets,
        fernet=fernet,
        attachments=attachments,
    )


def send_signin_link(
    conn: sa.Connection,
    *,
    to: str,
    email: Email,
    link: str,
    now: dt.datetime,
    reply_to: str | None,
    fernet: Fernet,
    mask: str = "[sign-in link]",
) -> None:
    """``email`` (``signin_email``, ``invitation_email``) to ``to``."""
    # The link signs in (or joins): the outbox row keeps it only until it is sent (and no dedupe key holds it).
    sealed = {link: mask}
    send(conn, email, to=to, now=now, dedupe_key=None, reply_to=reply_to, secrets=sealed, fernet=fernet)
