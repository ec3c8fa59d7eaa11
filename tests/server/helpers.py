"""Helpers for talking to the public API in tests like a client would."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from licentia.core.fingerprint import component_hash, data_path_hash
from licentia.core.signing import load_public_key, verify_document


def fingerprint(
    product: str,
    machine: str = "m1",
    disk: str | None = "d1",
    cpu: str | None = "c1",
    mac: str | None = "n1",
    path: str = "/opt/app",
) -> dict[str, Any]:
    raw = {"machine": machine, "disk": disk, "cpu": cpu, "mac": mac}
    return {
        "components": {k: component_hash(product, k, v) for k, v in raw.items() if v},
        "data_path": data_path_hash(product, path),
    }


def auth(credential: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Device {credential['device']}:{credential['secret']}"}


def verified(response: Any, public_key: str, product: str = "acme") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = json.loads(response.content)
    kid, key = load_public_key(public_key)
    return verify_document(body["signed"], {kid: key}, product=product)


class Installation:
    """One installation of ``product`` as the SDK would run it: credential and token kept."""

    def __init__(self, client: Any, public_key: str, product: str = "acme", **fp: Any) -> None:
        self.client = client
        self.public_key = public_key
        self.product = product
        self.fp = fingerprint(product, **fp)
        self.credential: dict[str, str] | None = None
        self.token: str | None = None

    @property
    def device_id(self) -> str:
        """The device id the server issued at first contact (check first)."""
        if self.credential is None:
            raise AssertionError("no credential yet: call check() first")
        return self.credential["device"]

    def body(self, **extra: Any) -> dict[str, Any]:
        return {"product": self.product, "fingerprint": self.fp, "token": self.token, **extra}

    def call(self, path: str, **extra: Any) -> Any:
        headers = auth(self.credential) if self.credential else {}
        return self.client.post(path, json=self.body(**extra), headers=headers)

    def check(self, path: str = "/v1/check", **extra: Any) -> dict[str, Any]:
        response = self.call(path, **extra)
        doc = verified(response, self.public_key, self.product)
        body = json.loads(response.content)
        if body["credential"]:
            self.credential = body["credential"]
        if doc["token"]:
            self.token = doc["token"]
        return doc


def sqlite_plan(engine: sa.Engine, run: Callable[[], Any], chosen: Callable[[str], bool]) -> str:
    """SQLite's plan (EXPLAIN QUERY PLAN) of the first statement ``run`` sends, on any engine, that ``chosen`` picks.

    SQLite's planner uses an index on an empty table as it would on a full one, so a plan test
    needs no data; PostgreSQL's scans tables this small.
    """
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in statements if chosen(s))
    with engine.connect() as conn:
        return " | ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
