"""``licentia license usage KEY``: a license's meters as the vendor's staff read them in a shell."""

from __future__ import annotations

import json

from licentia.server.cli.context import CliContext
from licentia.server.evidence.subjects import find_license
from licentia.server.meters.service import license_usage


def print_usage(ctx: CliContext, ref: str, *, as_json: bool) -> int:
    """Each meter's standing in its current period; a full key typed here is matched by hash, never printed."""
    with ctx.engine.connect() as conn:
        row = find_license(conn, ref)
        found = license_usage(conn, row, ctx.clock.now())
    if as_json:
        print(json.dumps({"license_id": row.id, "meters": [f.as_dict() for f in found]}, indent=2))
        return 0
    if not found:
        print(f"license {row.key_prefix} (id {row.id}): its type defines no meters")
        return 0
    for f in found:
        until = f"resets {f.period_end:%Y-%m-%d}" if f.period_end else "never resets"
        print(f"{f.meter}\t{f.used} of {f.limit} used\t{f.remaining} left\tper {f.period}, {until}")
    return 0
