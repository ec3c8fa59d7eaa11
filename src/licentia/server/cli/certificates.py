"""``licentia license certificate KEY``: the purchase certificate, signed now, to a file or standard output."""

from __future__ import annotations

import sys
from pathlib import Path

from licentia.server.cli.context import CliContext
from licentia.server.evidence.subjects import find_license
from licentia.server.licenses.certificate import sign_certificate
from licentia.server.store.engine import private_output


def write_certificate(ctx: CliContext, ref: str, output: str | None) -> int:
    with ctx.engine.connect() as conn:
        row = find_license(conn, ref)
        certificate = sign_certificate(conn, license_id=row.id, now=ctx.clock.now(), fernet=ctx.settings.fernet())
    if output:
        # A customer's name and email: private from its creation, like every export.
        with private_output(Path(output)) as path:
            path.write_bytes(certificate.body + b"\n")
        print(f"purchase certificate of license {row.key_prefix} (id {row.id}) written to {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(certificate.body + b"\n")
        sys.stdout.flush()
    return 0
