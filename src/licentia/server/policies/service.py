"""A product's license types (named policies): list, create, change; every change audited.

Shared by the CLI, the developer API and the admin UI. Services take a sync
``Connection`` as a keyword argument, like the rest of the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from licentia.core.clock import to_iso
from licentia.server.audit import AuditAction, record
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.policies.knobs import KNOB_NAMES, check_complete, invalid, validate_knobs, validate_name
from licentia.server.policies.schemas import PolicySpec
from licentia.server.store.tables import licenses, policies, products

DEFAULT_NAME = "Default"
MAX_POLICIES_PER_PRODUCT = 200


def defaults() -> dict[str, Any]:
    """Every knob's value for a new policy (the model's defaults)."""
    found: dict[str, Any] = {}
    for column in policies.columns:
        if column.name in KNOB_NAMES:
            default: Any = column.default
            if default is None and column.server_default is not None:  # e.g. seat_unit: the database's own
                found[column.name] = column.type.python_type(column.server_default.arg)  # type: ignore[attr-defined]
            elif default is None:
                found[column.name] = None
            elif default.is_callable:
                found[column.name] = default.arg(None)  # default=dict: a fresh object each time
            else:
                found[column.name] = default.arg
    return found


def _product(conn: sa.Connection, slug: str) -> sa.Row[Any]:
    row = conn.execute(sa.select(products).where(products.c.slug == slug)).first()
    return existing(row, ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")


def insert_default_policy(conn: sa.Connection, *, product_id: int, values: dict[str, Any], now: dt.datetime) -> int:
    given = validate_knobs(values)
    policy = {**defaults(), **given}
    check_complete(policy)
    # A knob not given whose column has a server default is left to the database: the insert then
    # names no column a database on an older revision lacks (expand-then-contract upgrades).
    named = {k: v for k, v in policy.items() if k in given or policies.c[k].server_default is None}
    return int(
        conn.execute(
            policies.insert()
            .values(product_id=product_id, name=DEFAULT_NAME, is_default=True, updated_at=now, **named)
            .returning(policies.c.id)
        ).scalar_one()
    )


def list_policies(conn: sa.Connection, *, product: str) -> list[sa.Row[Any]]:
    prod = _product(conn, product)
    return list(
        conn.execute(
            sa.select(policies)
            .where(policies.c.product_id == prod.id)
            .order_by(policies.c.is_default.desc(), policies.c.name)
        ).all()
    )


def get_policy(conn: sa.Connection, *, product: str, name: str) -> sa.Row[Any]:
    prod = _product(conn, product)
    row = conn.execute(sa.select(policies).where(policies.c.product_id == prod.id, policies.c.name == name)).first()
    return existing(row, ErrorCode.UNKNOWN_POLICY, f"{product} has no policy named {name!r}")


def policy_by_id(conn: sa.Connection, policy_id: int) -> sa.Row[Any]:
    row = conn.execute(sa.select(policies).where(policies.c.id == policy_id)).first()
    return existing(row, ErrorCode.UNKNOWN_POLICY, f"no policy {policy_id}")


def default_policy(conn: sa.Connection, product_id: int) -> sa.Row[Any]:
    return conn.execute(sa.select(policies).where(policies.c.product_id == product_id, policies.c.is_default)).one()


def create_policy(conn: sa.Connection, spec: PolicySpec, *, product: str, actor: str, now: dt.datetime) -> sa.Row[Any]:
    """A new license type named ``spec.name``; knobs not given come from ``spec.copy_of`` or the defaults."""
    if not isinstance(spec.name, str):
        raise invalid("give the policy a name")
    prod = _product(conn, product)
    name = validate_name(spec.name)
    count = conn.execute(
        sa.select(sa.func.count()).select_from(policies).where(policies.c.product_id == prod.id)
    ).scalar_one()
    if count >= MAX_POLICIES_PER_PRODUCT:
        raise ApiError(ErrorCode.TOO_MANY_POLICIES, f"a product has at most {MAX_POLICIES_PER_PRODUCT} policies")
    base = defaults()
    if spec.copy_of is not None:
        source = get_policy(conn, product=product, name=spec.copy_of)
        base = {knob: getattr(source, knob) for knob in KNOB_NAMES}
    given = validate_knobs(spec.knobs)
    policy = {**base, **given}
    check_complete(policy)
    _write_named(
        conn,
        policies.insert().values(product_id=prod.id, name=name, is_default=False, updated_at=now, **policy),
        product=product,
        name=name,
    )
    record(conn, AuditAction.POLICY_CREATE, prod.id, actor=actor, now=now, policy=name, **_audit(given))
    return get_policy(conn, product=product, name=name)


def change_policy(
    conn: sa.Connection, spec: PolicySpec, *, product: str, name: str, actor: str, now: dt.datetime
) -> sa.Row[Any]:
    """Change knobs of the policy ``name`` (and rename it to ``spec.name``); its licenses follow at their next check.

    The sale's terms already on a license (expiry, maintenance end) stay.
    """
    row = get_policy(conn, product=product, name=name)
    clean = validate_knobs(spec.knobs)
    check_complete({**{knob: getattr(row, knob) for knob in KNOB_NAMES}, **clean})
    update: dict[str, Any] = {**clean, "updated_at": now}
    if spec.name is not None and validate_name(spec.name) != row.name:
        update["name"] = validate_name(spec.name)
    _write_named(
        conn,
        policies.update().where(policies.c.id == row.id).values(**update),
        product=product,
        name=update.get("name", row.name),
    )
    record(
        conn,
        AuditAction.POLICY_UPDATE,
        row.product_id,
        actor=actor,
        now=now,
        policy=row.name,
        **{"renamed": update["name"]} if "name" in update else {},
        **_audit(clean),
    )
    return policy_by_id(conn, row.id)


def _write_named(conn: sa.Connection, statement: Any, *, product: str, name: str) -> None:
    """Insert or update a policy row; a name the product already uses is ``409 policy_exists``.

    The unique constraint decides (two vendors' staff naming two types alike at
    once): the savepoint keeps the transaction usable to report it.
    """
    try:
        with conn.begin_nested():
            conn.execute(statement)
    except sa.exc.IntegrityError as exc:
        raise ApiError(ErrorCode.POLICY_EXISTS, f"{product} already has a policy named {name!r}") from exc


def _audit(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (to_iso(v) if isinstance(v, dt.datetime) else v) for k, v in values.items()}


def license_counts(conn: sa.Connection, product_id: int) -> dict[int, int]:
    rows = conn.execute(
        sa.select(licenses.c.policy_id, sa.func.count())
        .where(licenses.c.product_id == product_id)
        .group_by(licenses.c.policy_id)
    ).all()
    return {int(policy_id): int(count) for policy_id, count in rows}


def policy_view(row: Any, *, licenses_count: int | None = None) -> dict[str, Any]:
    """A policy as the developer API and ``licentia policy show`` print it."""
    view: dict[str, Any] = {"id": row.id, "name": row.name, "default": bool(row.is_default)}
    for knob in KNOB_NAMES:
        value = getattr(row, knob)
        view[knob] = to_iso(value) if isinstance(value, dt.datetime) else value
    view["updated_at"] = to_iso(row.updated_at) if row.updated_at else None
    if licenses_count is not None:
        view["licenses"] = licenses_count
    return view
