"""The product's current signing key, for signing evidence reports like status documents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from licentia.core.signing import SigningKey
from licentia.server.products.service import Keyring, current_key_row


def product_signer(conn: sa.Connection, product_id: int, fernet: Fernet) -> tuple[SigningKey, list[dict[str, str]]]:
    """The current key and its endorsement chain, so apps that pinned an older key still verify."""
    row: Any = current_key_row(conn, product_id)
    return Keyring(fernet).signer(conn, product_id, row.kid)
