"""Do the admin UI's risk pages answer within 0.5 s on ``licentia demo`` data?

Run: ``python bench/risk_pages.py [--devices 3000]``. Fills a throw-away data
directory with ``licentia demo`` (3,000 devices over 90 days by default, as a
newcomer sees it), then measures in this one run what each page reads:

- the piracy risk list (``/admin/risk``): ``evidence.triage.flagged``;
- the same list the slow way, every license and every installation scored one
  by one (what ranking cost before the list read the rare signal events first);
- a license page and a device page (risk, seats or machine, one history), on
  the riskiest of each.

Target: every page <= 0.5 s; the ratio slow / list is printed too, because a
shared machine's absolute figures wander and the ratio does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from licentia.server.admin.devices.pages import device_page_data
from licentia.server.admin.licenses.pages import license_page_data
from licentia.server.evidence.risk import assess
from licentia.server.evidence.subjects import device_subject, license_subject
from licentia.server.evidence.triage import flagged
from licentia.server.store.tables import devices, licenses

TARGET_SECONDS = 0.5


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def score_everything(conn: sa.Connection) -> int:
    scored = 0
    for (license_id,) in conn.execute(sa.select(licenses.c.id)):
        assess(license_subject(conn, str(license_id)))
        scored += 1
    for (device_id,) in conn.execute(sa.select(devices.c.id)):
        assess(device_subject(conn, device_id))
        scored += 1
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [sys.executable, "-m", "licentia", "demo", "--data-dir", str(data), "--devices", str(args.devices)],
            check=True,
            capture_output=True,
        )
        engine = sa.create_engine(f"sqlite:///{data / 'licentia.db'}")
        with engine.connect() as conn:
            rows = flagged(conn)
            lic = next(r for r in rows if r.kind == "license")
            dev = next(r for r in rows if r.kind == "device")
            figures = {
                "risk list (/admin/risk)": timed(lambda: flagged(conn), args.rounds),
                f"license page ({lic.label}, risk {lic.risk.score})": timed(
                    lambda: license_page_data(conn, int(lic.ref), dt.datetime.now(dt.UTC)), args.rounds
                ),
                f"device page ({dev.label}, risk {dev.risk.score})": timed(
                    lambda: device_page_data(conn, dev.ref), args.rounds
                ),
            }
            start = time.perf_counter()
            scored = score_everything(conn)
            slow = time.perf_counter() - start
        engine.dispose()
    print(f"demo data: {args.devices} devices; {len(rows)} licenses and installations on the risk list")
    worst = 0.0
    for name, seconds in figures.items():
        median = statistics.median(seconds)
        worst = max(worst, max(seconds))
        print(f"  {name:<55} median {median * 1000:7.1f} ms   worst {max(seconds) * 1000:7.1f} ms")
    list_median = statistics.median(figures["risk list (/admin/risk)"])
    print(f"  every subject scored one by one ({scored} subjects)        {slow * 1000:7.1f} ms")
    print(f"ratio one-by-one / risk list: {slow / list_median:.1f}x")
    print(f"target: every page <= {TARGET_SECONDS} s -> {'met' if worst <= TARGET_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
