"""A server on SQLite finishes shutting down even when a background task is cancelled twice mid-statement."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# A process of its own: a shutdown that never ends must fail this test, not hang the suite.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    import sqlalchemy as sa
    from licentia.server.store.engine import database_urls, make_async_engine

    SLOW = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) "
        "SELECT count(*) FROM c"
    )

    async def main():
        engine = make_async_engine(database_urls("sqlite:///" + sys.argv[1]))

        async def report():  # an outbox round, say, busy with a long statement
            async with engine.connect() as conn:
                await conn.execute(sa.text(SLOW))

        task = asyncio.ensure_future(report())
        await asyncio.sleep(0.3)
        task.cancel()  # the lifespan cancels it...
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()  # ...and again, as the event loop does with what is left at its end
        try:
            await task
        except asyncio.CancelledError:
            pass
        await engine.dispose()

    asyncio.run(main())
    print("closed")
    """
)


def test_a_task_cancelled_twice_mid_statement_does_not_hold_up_the_shutdown(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT, str(tmp_path / "licentia.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "closed"
