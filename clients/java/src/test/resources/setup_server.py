"""Issue the licenses the Java client's end-to-end tests use, in one process (a CLI call each would cost seconds).

Usage: python setup_server.py <server data dir>; prints {"plain": [...], "named": ..., "metered": ..., "floating": ...}.
The server must have started once (it migrates and bootstraps the product ``my-app``).
"""

import json
import sys

import sqlalchemy as sa

from licentia.core.clock import SystemClock
from licentia.server.licenses.service import issue_license
from licentia.server.policies.schemas import PolicySpec
from licentia.server.policies.service import create_policy

PRODUCT = "my-app"


def main(data_dir: str) -> None:
    now = SystemClock().now()
    engine = sa.create_engine(f"sqlite:///{data_dir}/licentia.db")
    keys: dict[str, object] = {}
    try:
        with engine.begin() as conn:
            metered = {"meters": {"renders": {"limit": 3, "period": "month"}}, "max_devices": 10}
            create_policy(conn, PolicySpec(knobs=metered, name="Metered"), product=PRODUCT, actor="test", now=now)
            floating = {"kind": "floating", "max_devices": 1, "floating_lease_seconds": 60, "borrow_days": 3}
            create_policy(conn, PolicySpec(knobs=floating, name="Floating"), product=PRODUCT, actor="test", now=now)

            def issue(**extra: object) -> str:
                return issue_license(conn, product=PRODUCT, email="a@b.c", now=now, **extra).key  # type: ignore[arg-type]

            keys["plain"] = [issue() for _ in range(8)]
            keys["named"] = issue(name="Acme GmbH", features=["pdf"])
            keys["metered"] = issue(policy="Metered")
            keys["floating"] = issue(policy="Floating")
    finally:
        engine.dispose()
    print(json.dumps(keys))


if __name__ == "__main__":
    main(sys.argv[1])
