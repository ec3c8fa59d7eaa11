"""``licentia notify`` (SMTP test, the outbox) and ``licentia webhook`` (endpoints, their delivery log)."""

from __future__ import annotations

import argparse

from licentia.server.cli.context import CliContext, CliError

# ``typing`` itself costs the CLI's start a tenth: names for the type checker only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "notify": "test email settings; show and retry the notification outbox",
    "webhook": "webhook endpoints: add, list, edit, disable, enable, test; deliveries and redelivery",
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
    register_webhook(commands, options)


def register_webhook(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser
) -> None:
    from licentia.server.notify.catalog import WebhookEvent

    events_help = "an event to send (repeatable; none: every event): " + ", ".join(e.value for e in WebhookEvent)
    group = commands.add_parser("webhook", parents=[options], help=COMMANDS["webhook"])
    actions = group.add_subparsers(dest="webhook_action", required=True, metavar="ACTION")
    p = actions.add_parser("add", parents=[options], help="add an endpoint (its signing secret is printed once)")
    p.add_argument("url")
    p.add_argument("--event", action="append", default=[], help=events_help)
    p.add_argument("--product", help="a product's slug (default: every product)")
    p.add_argument("--description", help="what the endpoint is for")
    p.set_defaults(run=webhook_add)
    p = actions.add_parser("list", parents=[options], help="list the endpoints")
    p.set_defaults(run=webhook_list)
    p = actions.add_parser("edit", parents=[options], help="change an endpoint's URL, events, product or description")
    p.add_argument("webhook_id", type=int)
    p.add_argument("--url")
    p.add_argument("--event", action="append", help=events_help + "; replaces the endpoint's events")
    p.add_argument("--all-events", action="store_true", help="send every event")
    p.add_argument("--product", help="a product's slug")
    p.add_argument("--all-products", action="store_true", help="send events of every product")
    p.add_argument("--description")
    p.add_argument("--rotate-secret", action="store_true", help="a new signing secret (printed once)")
    p.set_defaults(run=webhook_edit)
    for name, doc in (("disable", "stop sending to an endpoint"), ("enable", "send to an endpoint again")):
        p = actions.add_parser(name, parents=[options], help=doc)
        p.add_argument("webhook_id", type=int)
        p.set_defaults(run=webhook_set_active, active=name == "enable")
    p = actions.add_parser("test", parents=[options], help="send a signed ping now and show the receiver's answer")
    p.add_argument("webhook_id", type=int)
    p.set_defaults(run=webhook_test)
    p = actions.add_parser("deliveries", parents=[options], help="an endpoint's delivery log, newest first")
    p.add_argument("webhook_id", type=int)
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(run=webhook_deliveries)
    p = actions.add_parser("redeliver", parents=[options], help="queue a delivery again (the running server sends it)")
    p.add_argument("webhook_id", type=int)
    p.add_argument("delivery_id", type=int)
    p.set_defaults(run=webhook_redeliver)


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
    print(f"{count} {'message' if count == 1 else 'messages'} will be sent again at the next poll")
    return 0


def _print_webhook(view: Any) -> None:
    state = "active" if view.active else "disabled"
    events = ", ".join(view.events) or "every event"
    product = view.product or "every product"
    note = f"  ({view.description})" if view.description else ""
    print(f"#{view.id} {state} {view.url}  [{product}] {events}{note}")


def webhook_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.webhook_specs import WebhookSpec
    from licentia.server.notify.webhooks import create_webhook, get_webhook

    spec = WebhookSpec.of(url=args.url, events=args.event, product=args.product, description=args.description)
    with ctx.engine.begin() as conn:
        made = create_webhook(conn, spec, now=ctx.clock.now(), fernet=ctx.settings.fernet(), actor=ctx.actor)
        _print_webhook(get_webhook(conn, made.id))
    print(f"signing secret (shown once, stored only sealed): {made.secret}")
    return 0


def webhook_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.webhooks import list_webhooks

    found = ctx.read(list_webhooks)
    for view in found:
        _print_webhook(view)
    if not found:
        print("no webhook endpoints; add one with: licentia webhook add URL --event EVENT")
    return 0


def webhook_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.webhook_specs import WebhookChange
    from licentia.server.notify.webhooks import get_webhook, update_webhook

    given: dict[str, Any] = {"url": args.url, "description": args.description, "rotate_secret": args.rotate_secret}
    if args.all_events or args.event:
        given["events"] = [] if args.all_events else args.event
    if args.all_products or args.product:
        given["product"] = None if args.all_products else args.product
    change = WebhookChange.of(**given)
    with ctx.engine.begin() as conn:
        secret = update_webhook(
            conn, args.webhook_id, change, now=ctx.clock.now(), fernet=ctx.settings.fernet(), actor=ctx.actor
        )
        _print_webhook(get_webhook(conn, args.webhook_id))
    if secret:
        print(f"new signing secret (shown once, stored only sealed): {secret}")
    return 0


def webhook_set_active(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.webhooks import set_active

    ctx.change(set_active, webhook_id=args.webhook_id, active=args.active)
    print(f"webhook #{args.webhook_id} {'enabled' if args.active else 'disabled'}")
    return 0


def webhook_test(args: argparse.Namespace, ctx: CliContext) -> int:
    import asyncio

    from licentia.server.notify.deliveries import finish_ping, send_ping, start_ping

    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        delivery_id, url, secret, body = start_ping(
            conn, webhook_id=args.webhook_id, now=now, fernet=ctx.settings.fernet()
        )
    outcome = asyncio.run(send_ping(delivery_id=delivery_id, url=url, secret=secret, body=body, now=now))
    with ctx.engine.begin() as conn:
        finish_ping(
            conn, outcome=outcome, now=ctx.clock.now(), max_attempts=ctx.settings.outbox_max_attempts, actor=ctx.actor
        )
    if not outcome.ok:
        raise CliError(f"ping #{delivery_id} not delivered: {outcome.error}")
    print(f"ping #{delivery_id} delivered: HTTP {outcome.response_code}")
    return 0


def webhook_deliveries(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.deliveries import deliveries

    found = ctx.read(
        deliveries, webhook_id=args.webhook_id, max_attempts=ctx.settings.outbox_max_attempts, limit=args.limit
    )
    for d in found:
        code = d.response_code if d.response_code is not None else "-"
        again = f" (again of #{d.redelivery_of})" if d.redelivery_of else ""
        error = f"  {d.last_error}" if d.last_error and d.status != "delivered" else ""
        when = f"{d.created_at:%Y-%m-%d %H:%M:%S}"
        print(f"#{d.id} {when} {d.event} {d.status} attempts {d.attempts} HTTP {code}{again}{error}")
    if not found:
        print(f"webhook #{args.webhook_id} has no deliveries yet")
    return 0


def webhook_redeliver(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.notify.deliveries import redeliver

    new_id = ctx.change(redeliver, webhook_id=args.webhook_id, delivery_id=args.delivery_id)
    print(f"delivery #{args.delivery_id} queued again as #{new_id}; the server sends it at its next poll")
    return 0
