"""``licentia product`` and ``licentia keys``: products, their policies, client facts, signing keys."""

from __future__ import annotations

import argparse

from licentia.server.cli.context import CliContext, CliError

TYPE_CHECKING = False  # typing is not imported: see cli/context.py
if TYPE_CHECKING:
    from typing import Any

# The top-level commands this module registers, with their help lines (see build_parser).
COMMANDS = {
    "product": "create, list, show products; policies, privacy, piracy ratio, test mode, proxy-log trail",
    "keys": "show or rotate a product's signing keys",
}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser], options: argparse.ArgumentParser) -> None:
    group = commands.add_parser("product", parents=[options], help=COMMANDS["product"])
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("create", parents=[options], help="a new product with its own signing key")
    p.add_argument("slug")
    p.add_argument("--name", help="display name (default: the slug)")
    p.set_defaults(run=create)
    actions.add_parser("list", parents=[options], help="every product").set_defaults(run=list_products)
    p = actions.add_parser("show", parents=[options], help="a product, its policy and its public keys (JSON)")
    p.add_argument("slug")
    p.set_defaults(run=show)
    p = actions.add_parser("policy", parents=[options], help="change policy settings")
    p.add_argument("slug")
    p.add_argument("--set", action="append", required=True, metavar="NAME=VALUE", help="policy setting (repeatable)")
    p.set_defaults(run=policy)
    p = actions.add_parser("facts", parents=[options], help="show or switch client-fact collection and retention")
    p.add_argument("slug")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--enable", action="store_true", help="collect client facts for this product")
    switch.add_argument("--disable", action="store_true", help="stop collecting client facts")
    p.add_argument("--retention-days", type=int, help="delete facts older than this many days")
    p.set_defaults(run=facts)
    p = actions.add_parser(
        "piracy", parents=[options], help="unlicensed users and suspected copies per license sold, per day (rollups)"
    )
    p.add_argument("slug")
    p.add_argument("--days", type=int, default=30, help="the last N days, today included (default 30)")
    p.add_argument("--json", action="store_true", help="the developer API's answer instead of tab-separated rows")
    p.set_defaults(run=piracy)
    p = actions.add_parser(
        "test-mode", parents=[options], help="show or switch test mode (posts kept apart, echoed, emailed)"
    )
    p.add_argument("slug")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--on", action="store_true", help="keep every post of this product apart from production")
    switch.add_argument("--off", action="store_true", help="back to production: posts count again")
    p.add_argument("--email", help="where each test post is emailed (empty: not emailed)")
    p.add_argument("--posts", action="store_true", help="print the latest test posts, one JSON object a line")
    p.set_defaults(run=test_mode)
    p = actions.add_parser(
        "trail", parents=[options], help="show or switch the proxy-log trail (GET before each post) and usage once"
    )
    p.add_argument("slug")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--on", action="store_true", help="applications send each report also as a GET")
    switch.add_argument("--off", action="store_true", help="no GET trail (the default)")
    once = p.add_mutually_exclusive_group()
    once.add_argument(
        "--usage-once", action="store_true", help="one usage report only, usage_report_days after registration"
    )
    once.add_argument("--usage-periodic", action="store_true", help="a usage report every usage_report_days")
    p.set_defaults(run=trail)

    group = commands.add_parser("keys", parents=[options], help=COMMANDS["keys"])
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("rotate", parents=[options], help="a new signing key, endorsed by the current one")
    p.add_argument("--product", required=True)
    p.set_defaults(run=rotate_keys)
    p = actions.add_parser("show", parents=[options], help="the product's public keys, oldest first")
    p.add_argument("--product", required=True)
    p.set_defaults(run=show_keys)


def create(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.audit import AuditAction
    from licentia.server.bootstrap import write_public_key
    from licentia.server.products.service import create_product

    with ctx.engine.begin() as conn:
        made = create_product(
            conn, slug=args.slug, name=args.name or args.slug, fernet=ctx.settings.fernet(), now=ctx.clock.now()
        )
        ctx.audit(conn, AuditAction.PRODUCT_CREATE, made.id, slug=made.slug)
    path = write_public_key(ctx.settings, made.slug, made.public_key)
    print(f"created product {made.slug}; public key {made.public_key} (saved to {path})")
    return 0


def list_products(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.products.reads import product_list

    with ctx.snapshot() as snapshot:
        for row in product_list(snapshot):
            print(f"{row['slug']}\t{row['name']}")
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.products.reads import product_view

    with ctx.snapshot() as snapshot:
        print(json.dumps(product_view(snapshot, args.slug), indent=2))
    return 0


def piracy(args: argparse.Namespace, ctx: CliContext) -> int:
    import datetime as dt
    import json

    from licentia.server.rollups import ratio

    if not 1 <= args.days <= 366:
        raise CliError("--days takes 1 to 366")
    today = ctx.clock.now().date()
    with ctx.snapshot() as snapshot:
        first = today - dt.timedelta(days=args.days - 1)
        days = ratio.read_snapshot(snapshot, slug=args.slug, first=first, last=today)
    if args.json:
        answer = {"product": args.slug, "active_days": ratio.ACTIVE_DAYS, "definition": ratio.DEFINITION}
        print(json.dumps({**answer, "days": [ratio.as_json(day) for day in days]}, indent=2))
        return 0
    columns = ("licenses_sold", "unlicensed_active", "unlicensed_per_license", "copies_active", "copies_per_license")
    print("\t".join(("day", *columns)))
    for day in days:
        # A ratio without a license sold is an empty field.
        fields = ("" if day[name] is None else f"{day[name]:g}" for name in columns)
        print("\t".join((day["day"].isoformat(), *fields)))
    return 0


def policy(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.products.changes import change_policy
    from licentia.server.products.service import get_product

    values = {}
    for item in args.set:
        name, sep, raw = item.partition("=")
        if not sep:
            raise CliError(f"--set takes NAME=VALUE, got {item!r}")
        values[name] = policy_value(raw)
    with ctx.engine.begin() as conn:
        product = get_product(conn, args.slug)
        change_policy(conn, product_id=product.id, values=values, actor=ctx.actor, now=ctx.clock.now())
    print(f"policy of {product.slug} updated: {values}")
    return 0


def policy_value(raw: str) -> Any:
    """``--set`` values as the policy wants them: booleans, none, integers, else text."""
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", ""):
        return None
    try:
        return int(raw)
    except ValueError:
        return raw.strip()


def facts(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.products.changes import change_privacy
    from licentia.server.products.service import get_product

    with ctx.engine.begin() as conn:
        row = get_product(conn, args.slug)
        if args.enable or args.disable or args.retention_days is not None:
            change_privacy(
                conn,
                product_id=row.id,
                collect_facts=bool(args.enable) if (args.enable or args.disable) else row.collect_facts,
                retention_days=row.facts_retention_days if args.retention_days is None else args.retention_days,
                actor=ctx.actor,
                now=ctx.clock.now(),
            )
            row = get_product(conn, args.slug)
    state = "on" if row.collect_facts else "off"
    print(f"client facts for {row.slug}: {state}; facts kept {row.facts_retention_days} days")
    return 0


def test_mode(args: argparse.Namespace, ctx: CliContext) -> int:
    import json

    from licentia.server.products.service import get_product
    from licentia.server.products.test_mode import posts_in_test_mode, set_test_mode

    with ctx.engine.begin() as conn:
        row = get_product(conn, args.slug)
        if args.on or args.off or args.email is not None:
            on = bool(args.on) if (args.on or args.off) else row.test_mode
            email = row.test_email if args.email is None else args.email
            set_test_mode(conn, product_id=row.id, on=on, email=email, actor=ctx.actor, now=ctx.clock.now())
            row = get_product(conn, args.slug)
        posts = posts_in_test_mode(conn, product_id=row.id) if args.posts else []
    emailed = f"emailed to {row.test_email}" if row.test_email else "not emailed"
    print(f"test mode for {row.slug}: {'on' if row.test_mode else 'off'}; test posts {emailed}")
    for post in posts:
        print(json.dumps(post, ensure_ascii=False))
    return 0


def trail(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.products.changes import change_proxy_trail
    from licentia.server.products.service import get_product

    with ctx.engine.begin() as conn:
        row = get_product(conn, args.slug)
        if args.on or args.off or args.usage_once or args.usage_periodic:
            change_proxy_trail(
                conn,
                product_id=row.id,
                proxy_trail=bool(args.on) if (args.on or args.off) else row.proxy_trail,
                usage_report_once=bool(args.usage_once)
                if (args.usage_once or args.usage_periodic)
                else row.usage_report_once,
                actor=ctx.actor,
                now=ctx.clock.now(),
            )
            row = get_product(conn, args.slug)
    usage = "once" if row.usage_report_once else "periodic"
    print(f"proxy-log trail for {row.slug}: {'on' if row.proxy_trail else 'off'}; usage reports {usage}")
    return 0


def rotate_keys(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.audit import AuditAction
    from licentia.server.products.service import rotate_key

    with ctx.engine.begin() as conn:
        new = rotate_key(conn, slug=args.product, fernet=ctx.settings.fernet(), now=ctx.clock.now())
        ctx.audit(conn, AuditAction.KEYS_ROTATE, args.product, kid=new.kid)
    print(f"new signing key {new.kid} for {args.product}; documents signed by older keys still verify")
    return 0


def show_keys(args: argparse.Namespace, ctx: CliContext) -> int:
    from licentia.server.bootstrap import write_public_key
    from licentia.server.products.service import get_product, public_keys

    with ctx.engine.connect() as conn:
        product = get_product(conn, args.product)
        keys = public_keys(conn, product.id)
    write_public_key(ctx.settings, product.slug, keys[0])
    for key in keys:
        print(key)
    return 0
