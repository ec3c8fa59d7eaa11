"""``licentia notify``: check SMTP, see what waits or failed in the outbox, retry failed messages.

Registered by ``licentia.cli`` like the other optional parts (``register``).
Only the standard library is imported at module level: building the parser
must stay fast and must not need the server extra.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    # The common options (--data-dir, --database-url) go on each action, after it.
    p = sub.add_parser("notify", help="test email settings; show and retry the notification outbox")
    actions = p.add_subparsers(dest="notify_action", required=True, metavar="ACTION")
    test = actions.add_parser("test-email", parents=[common], help="send a test email now, with the SMTP settings")
    test.add_argument("address")
    test.set_defaults(func=cmd_test_email)
    status = actions.add_parser("status", parents=[common], help="count waiting, failed and sent messages")
    status.add_argument("--limit", type=int, default=20, help="failed messages to list")
    status.set_defaults(func=cmd_status)
    retry = actions.add_parser("retry", parents=[common], help="make failed messages due again")
    retry.add_argument("ids", nargs="*", type=int, help="message ids (default: every failed message)")
    retry.set_defaults(func=cmd_retry)


def cmd_test_email(args: argparse.Namespace) -> int:
    import asyncio

    from licentia.cli import CliError, _settings
    from licentia.core.clock import SystemClock
    from licentia.server.notify.delivery import DeliveryFailed, send_email
    from licentia.server.notify.messages import plausible_email

    settings = _settings(args)
    address = plausible_email(args.address)
    if address is None:
        raise CliError(f"{args.address!r} is not an email address")
    now = SystemClock().now()
    payload = {
        "to": [address],
        "subject": "Licentia test email",
        "text": "This is a test from your Licentia server: notification emails can be delivered.\n",
    }
    message_id = f"<licentia.test.{int(now.timestamp())}@{settings.smtp_from.rpartition('@')[2].strip('>')}>"
    try:
        asyncio.run(send_email(payload, settings=settings, message_id=message_id, now=now))
    except DeliveryFailed as exc:
        raise CliError(f"not sent: {exc}") from exc
    print(f"sent to {address} through {settings.smtp_host}:{settings.smtp_port}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.server.notify.backlog import failed_messages, outbox_counts

    settings, engine = connect(args)
    try:
        with engine.connect() as conn:
            counts = outbox_counts(conn, max_attempts=settings.outbox_max_attempts)
            failed = failed_messages(conn, max_attempts=settings.outbox_max_attempts, limit=args.limit)
    finally:
        engine.dispose()
    print(f"waiting {counts.waiting}  failed {counts.failed}  sent {counts.sent}")
    if not settings.smtp_host:
        print("SMTP is not configured (LICENTIA_SMTP_HOST): emails wait until it is")
    for message in failed:
        print(f"#{message.id} {message.channel}/{message.topic} to {message.recipient}: {message.last_error}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from licentia.cli import connect
    from licentia.core.clock import SystemClock
    from licentia.server.notify.backlog import retry_failed

    settings, engine = connect(args)
    try:
        with engine.begin() as conn:
            count = retry_failed(
                conn, max_attempts=settings.outbox_max_attempts, now=SystemClock().now(), ids=args.ids or None
            )
    finally:
        engine.dispose()
    print(f"{count} message(s) will be sent again at the next poll")
    return 0
