"""Constructed histories: devices, licenses and events written straight into the store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from licentia.server.events.service import event_row, record_events
from licentia.server.licenses.service import issue_license
from licentia.server.store.models import Device, Machine, table_of
from tests.conftest import START

devices = table_of(Device)
machines = table_of(Machine)


class History:
    def __init__(self, engine: Any, product: Any) -> None:
        self.engine = engine
        self.product = product
        self._n = 0

    def license(self, **kw: Any) -> Any:
        with self.engine.begin() as conn:
            return issue_license(conn, product="acme", email="buyer@example.com", name="Buyer", now=START, **kw)

    def device(
        self, license_id: int | None = None, at: dt.datetime = START, facts: dict[str, Any] | None = None
    ) -> str:
        self._n += 1
        device_id = f"dv_test{self._n:04d}"
        with self.engine.begin() as conn:
            conn.execute(
                machines.insert().values(id=f"mc_test{self._n:04d}", product_id=self.product.id, first_seen=at)
            )
            conn.execute(
                devices.insert().values(
                    id=device_id,
                    product_id=self.product.id,
                    machine_id=f"mc_test{self._n:04d}",
                    first_seen=at,
                    last_seen=at,
                    status="registered" if license_id else "trial",
                    license_id=license_id,
                    secret_hash="0" * 64,
                    facts=facts or {},
                )
            )
        return device_id

    def event(
        self,
        device_id: str | None,
        kind: str,
        *,
        at: dt.datetime = START,
        ip: str = "198.51.100.7",
        license_id: int | None = None,
        data: dict[str, Any] | None = None,
        client_facts: dict[str, Any] | None = None,
        server_facts: dict[str, Any] | None = None,
    ) -> None:
        row = event_row(
            product_id=self.product.id,
            device_id=device_id,
            kind=kind,
            received_at=at,
            license_id=license_id,
            data=data,
            client_facts=client_facts,
            server_facts=server_facts or {"external_ip": ip, "received_at": at.isoformat(), "server_tz": "UTC"},
        )
        with self.engine.begin() as conn:
            record_events(conn, [row])
