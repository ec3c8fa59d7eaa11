"""Upgrade three hosts one by one under load behind HAProxy, and count the checks that failed (none may).

    sudo python bench/rolling_upgrade.py                 # about a minute
    sudo python bench/rolling_upgrade.py --json out.json # what tests/deploy/test_rolling_upgrade.py runs

The procedure of docs/operations.md ("Rolling upgrades"), on the cluster of bench/cluster.py:

1. three hosts run the *old* release: this source tree, as installed;
2. SDK applications and a load generator without retries send checks (and events) through
   HAProxy all along;
3. ``licentia migrate`` of the *new* release applies its migration while the old hosts serve
   (an expand step: they run beside it; their ``/readyz`` stays 200);
4. host by host: ``set server hosts/hostN state drain`` on HAProxy's admin socket, wait for
   the requests on it to end, stop it gracefully (SIGTERM), start it on the new release, wait
   for its ``/readyz``, ``set server ... state ready``, wait until HAProxy's checks see it UP.

The *new* release is a copy of this source tree with one more migration, written expand-only as
the runbook asks (a nullable column on ``devices``, a new table with an index, ``down_revision``
the tree's head, whatever it is), and its version marked ``+next``; each upgraded host is asked
for that version, so the test knows which code answers. The tree is run from its copy through
``PYTHONPATH``, ahead of the installed package.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cluster import Cluster, Host, main_of
from failover import LoadGenerator, SdkLoop, sdk_client

from licentia.server.store.snapshot import head_revision
from processes import ROOT

NEXT_REVISION = "next_release_probe"
MIGRATION = '''"""The next release's schema (a rolling-upgrade rehearsal): expand only.

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("next_release_note", sa.Text(), nullable=True))
    op.create_table(
        "next_release_probes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_next_release_probes_device", "next_release_probes", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_next_release_probes_device", table_name="next_release_probes")
    op.drop_table("next_release_probes")
    op.drop_column("devices", "next_release_note")
'''


@dataclass
class Figures:
    hosts: int = 0
    old_revision: str = ""
    new_revision: str = ""
    seconds: float = 0.0
    old_hosts_ready_after_migration: int = 0
    upgraded: dict[str, float] = field(default_factory=dict)  # host: seconds from drain to UP on the new code
    sdk_checks: int = 0
    sdk_checks_failed: int = 0
    sdk_retries: int = 0
    load_requests: int = 0
    load_errors: dict[str, int] = field(default_factory=dict)


def next_release(workdir: Path) -> Path:
    """A copy of this source tree with one more (expand) migration: what the test deploys as new."""
    code = workdir / "next"
    shutil.copytree(ROOT / "src" / "licentia", code / "licentia", ignore=shutil.ignore_patterns("__pycache__"))
    versions = code / "licentia" / "server" / "store" / "migrations" / "versions"
    down = head_revision(str(versions))
    (versions / f"{NEXT_REVISION}.py").write_text(MIGRATION.format(revision=NEXT_REVISION, down=down))
    init = code / "licentia" / "__init__.py"
    text = init.read_text()
    version = text.split('__version__ = "', 1)[1].split('"', 1)[0]
    init.write_text(text.replace(f'__version__ = "{version}"', f'__version__ = "{version}+next"'))
    return code


def version_of(host: Host) -> str:
    """The release a host runs, as its OpenAPI document says."""
    return str(httpx.get(f"{host.url}/openapi.json", timeout=30).json()["info"]["version"])


def upgrade(cluster: Cluster, host: Host, code: Path, workers: int) -> float:
    """Drain ``host`` on HAProxy, stop it gracefully, start it on ``code``, put it back; the seconds it took."""
    began = time.monotonic()
    cluster.proxy.drain(host)
    host.stop()
    host.start(cluster.database_url, workers, code)
    host.wait_ready()
    if not version_of(host).endswith("+next"):
        raise RuntimeError(f"{host.name} does not run the new release")
    cluster.proxy.set_state(host, "ready")
    cluster.proxy.wait_status(host, "UP")
    return time.monotonic() - began


def rolling_upgrade(args: argparse.Namespace) -> Figures:
    figures = Figures(hosts=args.hosts)
    with Cluster(hosts=args.hosts, workers=args.workers) as cluster:
        public_key = cluster.start()
        url, workdir = cluster.proxy.url, cluster.workdir
        code = next_release(workdir)
        figures.old_revision = cluster.hosts[0].wait_ready()

        stop = threading.Event()
        loops = [SdkLoop(sdk_client(url, public_key, workdir, f"app{i}"), stop) for i in range(args.clients)]
        load = LoadGenerator(url, concurrency=args.load, events=True)
        begin = time.monotonic()
        for loop in loops:
            loop.start()
        load_thread = load.start(args.seconds_limit)
        time.sleep(2)  # load before anything changes

        cluster.licentia("migrate", code=code)  # the new release migrates; the old hosts serve on
        figures.new_revision = NEXT_REVISION
        figures.old_hosts_ready_after_migration = sum(
            httpx.get(f"{host.url}/readyz", timeout=30).status_code == 200 for host in cluster.hosts
        )
        for host in cluster.hosts:
            figures.upgraded[host.name] = round(upgrade(cluster, host, code, args.workers), 1)
        time.sleep(2)  # load after the last host is back

        stop.set()
        load.stop = True
        for loop in loops:
            loop.join(120)
        load_thread.join(120)
        figures.seconds = round(time.monotonic() - begin, 1)
        figures.sdk_checks = sum(loop.checks for loop in loops)
        figures.sdk_checks_failed = sum(loop.failed for loop in loops)
        figures.sdk_retries = sum(loop.lic.transport.retried for loop in loops)
        figures.load_requests = load.requests
        figures.load_errors = dict(load.errors)
    return figures


def report(f: Figures) -> str:
    errors = ", ".join(f"{n} x {kind}" for kind, n in sorted(f.load_errors.items())) or "none"
    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in f.upgraded.items())
    return "\n".join([
        f"{f.hosts} hosts upgraded one by one under load ({f.seconds:.0f} s), migration {f.old_revision} ->"
        f" {f.new_revision} applied first",
        f"old hosts ready after the new release migrated: {f.old_hosts_ready_after_migration} of {f.hosts}",
        f"drain, stop, start on the new release, back UP:  {steps}",
        f"SDK checks: {f.sdk_checks}, failed: {f.sdk_checks_failed}, requests sent again: {f.sdk_retries}",
        f"without retries (generator): {f.load_requests} requests, errors: {errors}",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers per host")
    parser.add_argument("--clients", type=int, default=4, help="SDK applications checking in a loop")
    parser.add_argument("--load", type=int, default=3, help="concurrent requests of the generator")
    parser.add_argument("--seconds-limit", type=float, default=300, help="the load stops by then at the latest")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    return main_of(lambda: rolling_upgrade(args), report, args.json, args.seconds_limit + 600)


if __name__ == "__main__":
    sys.exit(main())
