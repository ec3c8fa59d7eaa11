"""``licentia notify``: check SMTP, see what waits or failed in the outbox, retry failed messages."""

from __future__ import annotations

import argparse

from licentia.server.cli.context import CliContext, CliError

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "notify": "test email settings; show and retry the notification outbox",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("notify", parents=[options], help=COMMANDS["notify"])
    actions = group.add_subparsers(dest="notify_action", required=True, metavar="ACTION")
    p = actions.add_parser("test-email", parents=[options], help="send a test email now, with the SMTP settings")
    p.add_argument("address")
    p.set_defaults(run=test_email)
    p = actions.add_parser("status", parents=[options], help="count waiting, failed and sent messages")
    p.add_argument("--limit", type=int, default=20, help="failed messages to list")
    p.set_defaults(run=status)
    p = actions.add_parser("retry", parents=[options], help="make failed messages due again")
    p.add_argument("ids", nargs="*", type=int, help="message ids (default: every failed message)")
    p.set_defaults(run=retry)


def test_email(args: argparse.Namespace, ctx: CliContext) -> int:
    import asyncio

    from licentia.server.notify.delivery import DeliveryFailed, send_email
    from licentia.server.notify.messages import plausible_email

    settings = ctx.settings
    address = plausible_email(args.address)
    if address is None:
        raise CliError(f"{args.address!r} is not an email address")
    now = ctx.clock.now()
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


def status(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.backlog import failed_messages, outbox_counts

    settings = ctx.settings
    with ctx.engine.connect() as conn:
        counts = outbox_counts(conn, max_attempts=settings.outbox_max_attempts)
        failed = failed_messages(conn, max_attempts=settings.outbox_max_attempts, limit=args.limit)
    print(f"waiting {counts.waiting}  failed {counts.failed}  sent {counts.sent}")
    if not settings.smtp_host:
        print("SMTP is not configured (LICENTIA_SMTP_HOST): emails wait until it is")
    for message in failed:
        print(f"#{message.id} {message.channel}/{message.topic} to {message.recipient}: {message.last_error}")
    return 0


def retry(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.backlog import retry_failed

    with ctx.engine.begin() as conn:
        count = retry_failed(
            conn, max_attempts=ctx.settings.outbox_max_attempts, now=ctx.clock.now(), ids=args.ids or None
        )
    print(f"{count} message(s) will be sent again at the next poll")
    return 0
