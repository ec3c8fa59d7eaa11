"""Products, their policies and their signing keys.

Services take a sync SQLAlchemy ``Connection`` as a keyword argument: the CLI
calls them directly, writer jobs call them inside a batch, async code through
``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from licentia.core.signing import SigningKey
from licentia.server.errors import ApiError, ErrorCode, existing
from licentia.server.fields import ProductName, checked
from licentia.server.policies.knobs import validate_knobs
from licentia.server.policies.service import insert_default_policy
from licentia.server.store.tables import policies, products, signing_keys

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# The knobs shown with the product: its default policy rules machines without a license.
POLICY_FIELDS = (
    "trial_days",
    "max_devices",
    "seat_release_days",
    "lease_days",
    "grace_days",
    "usage_report_days",
    "fingerprint_min_match",
    "on_clone",
    "allow_virtual_machines",
)


def validate_policy(values: dict[str, Any]) -> dict[str, Any]:
    """Check policy knobs; raise ``ApiError(invalid_policy)`` naming the bad one."""
    return validate_knobs(values)


@dataclass(frozen=True)
class CreatedProduct:
    id: int
    slug: str
    name: str
    kid: str
    public_key: str


def create_product(
    conn: sa.Connection, *, slug: str, name: str, fernet: Fernet, now: dt.datetime, **policy: Any
) -> CreatedProduct:
    if not SLUG.match(slug):
        raise ApiError(ErrorCode.INVALID_SLUG, "a product slug is 1-63 lowercase letters, digits and dashes")
    name = checked(ProductName, name, field="name")
    if conn.execute(sa.select(products.c.id).where(products.c.slug == slug)).first():
        raise ApiError(ErrorCode.PRODUCT_EXISTS, f"a product named {slug!r} already exists")
    product_id = conn.execute(
        products.insert()
        .values(slug=slug, name=name, created_at=now, collect_facts=False, facts_retention_days=365, notify={})
        .returning(products.c.id)
    ).scalar_one()
    insert_default_policy(conn, product_id=product_id, values=policy, now=now)
    key = _add_key(conn, product_id=product_id, slug=slug, fernet=fernet, now=now, previous=None)
    return CreatedProduct(product_id, slug, name, key.kid, key.export_public())


def _add_key(
    conn: sa.Connection,
    *,
    product_id: int,
    slug: str,
    fernet: Fernet,
    now: dt.datetime,
    previous: SigningKey | None,
) -> SigningKey:
    key = SigningKey.generate()
    raw = key.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    conn.execute(
        signing_keys.insert().values(
            product_id=product_id,
            kid=key.kid,
            public_key=key.export_public(),
            private_key_enc=fernet.encrypt(raw),
            endorsement=previous.endorse(key, slug) if previous else None,
            created_at=now,
            retired_at=None,
        )
    )
    return key


def get_product(conn: sa.Connection, slug: str) -> sa.Row[Any]:
    row = conn.execute(sa.select(products).where(products.c.slug == slug)).first()
    return existing(row, ErrorCode.UNKNOWN_PRODUCT, f"no product named {slug!r}")


def current_key_row(conn: sa.Connection, product_id: int) -> sa.Row[Any]:
    return conn.execute(
        sa.select(signing_keys)
        .where(signing_keys.c.product_id == product_id, signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.id.desc())
        .limit(1)
    ).one()


def decrypt_key(row: Any, fernet: Fernet) -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(fernet.decrypt(row.private_key_enc)))


def rotate_key(conn: sa.Connection, *, slug: str, fernet: Fernet, now: dt.datetime) -> SigningKey:
    """Add a new current key endorsed by the old one; the old one is retired, not deleted.

    Documents the old key signed keep verifying until their lease ends, and
    applications that pinned the old public key trust the new one through
    the endorsement carried in every document.
    """
    product = get_product(conn, slug)
    old_row = current_key_row(conn, product.id)
    old = decrypt_key(old_row, fernet)
    conn.execute(signing_keys.update().where(signing_keys.c.id == old_row.id).values(retired_at=now))
    return _add_key(conn, product_id=product.id, slug=slug, fernet=fernet, now=now, previous=old)


def public_keys(conn: sa.Connection, product_id: int) -> list[str]:
    return list(
        conn.execute(
            sa.select(signing_keys.c.public_key)
            .where(signing_keys.c.product_id == product_id)
            .order_by(signing_keys.c.id)
        ).scalars()
    )


def update_policy(conn: sa.Connection, *, product_id: int, values: dict[str, Any]) -> None:
    """Change the product's default policy (the one machines without a license follow)."""
    clean = validate_policy(values)
    if clean:
        conn.execute(
            policies.update().where(policies.c.product_id == product_id, policies.c.is_default).values(**clean)
        )


class Keyring:
    """Decrypted signing keys, cached per process by key id (a key id never changes meaning)."""

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet
        self._keys: dict[str, SigningKey] = {}
        self._chains: dict[str, list[dict[str, str]]] = {}

    def signer(self, conn: sa.Connection, product_id: int, kid: str) -> tuple[SigningKey, list[dict[str, str]]]:
        key = self._keys.get(kid)
        chain = self._chains.get(kid)
        if key is None or chain is None:
            rows = conn.execute(
                sa.select(signing_keys).where(signing_keys.c.product_id == product_id).order_by(signing_keys.c.id)
            ).all()
            chain = []
            for row in rows:
                if row.endorsement:
                    chain.append(dict(row.endorsement))
                if row.kid == kid:
                    key = decrypt_key(row, self._fernet)
                    break
            if key is None:
                raise LookupError(kid)
            self._keys[kid] = key
            self._chains[kid] = chain
        return key, chain
