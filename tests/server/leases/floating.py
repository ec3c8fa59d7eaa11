"""Helpers of the lease tests: a floating license type and license, and installations that check out."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from licentia.core.signing import load_public_key, verify_document
from licentia.server.licenses.service import issue_license
from licentia.server.policies.schemas import PolicySpec
from licentia.server.policies.service import create_policy
from tests.server.helpers import Installation, auth


def floating_license(engine: sa.Engine, now: Any, *, seats: int = 2, lease_seconds: int = 600, borrow_days: int = 0,
                     product: str = "acme", name: str = "Floating", **issue: Any) -> str:  # fmt: skip
    """A license of a new floating type of ``product`` with ``seats``; returns its clear key."""
    knobs = {"kind": "floating", "max_devices": seats, "floating_lease_seconds": lease_seconds}
    knobs["borrow_days"] = borrow_days
    with engine.begin() as conn:
        create_policy(conn, PolicySpec(knobs=knobs, name=name), product=product, actor="test", now=now)
        return issue_license(conn, product=product, email="team@example.com", now=now, policy=name, **issue).key


class Seat(Installation):
    """An installation that checks out, heartbeats and releases leases through the public API."""

    lease: str | None = None

    def checkout(self, key: str, **extra: Any) -> Any:
        if self.credential is None:
            self.check()
        assert self.credential is not None
        return self.client.post(
            "/v1/leases", json={"product": self.product, "key": key, **extra}, headers=auth(self.credential)
        )

    def lease_doc(self, response: Any) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        body = json.loads(response.content)
        kid, key = load_public_key(self.public_key)
        doc = verify_document(body["signed"], {kid: key}, product=self.product)
        assert doc["type"] == "floating_lease" and doc["lease"] == body["lease"]
        self.lease = body["lease"]
        return doc

    def heartbeat(self, lease: str | None = None) -> Any:
        assert self.credential is not None
        return self.client.post(f"/v1/leases/{lease or self.lease}/heartbeat", headers=auth(self.credential))

    def release(self, lease: str | None = None) -> Any:
        assert self.credential is not None
        return self.client.post(f"/v1/leases/{lease or self.lease}/release", headers=auth(self.credential))


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])
