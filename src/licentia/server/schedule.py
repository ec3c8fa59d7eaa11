"""Jobs every process repeats beside the requests (seat release, the webhook events sweep).

Each job is safe to run in several processes on several hosts at once (its
own locks or unique keys make a second run write nothing), so a plain timer
per process is enough: no leader election, no shared scheduler state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


def every(
    interval: float,
    job: Callable[[], Awaitable[int]],
    *,
    name: str,
    first_after: float,
    log: logging.Logger,
    done: str,
    failed: str,
) -> asyncio.Task[None]:
    """Run ``job`` after ``first_after`` seconds, then every ``interval``; log ``done % count`` when it did something.

    A failed run is logged (``failed``) and retried at the next one: every job
    here is idempotent, so running late harms nobody.
    """

    async def loop() -> None:
        await asyncio.sleep(min(first_after, interval))
        while True:
            try:
                count = await job()
                if count:
                    log.info(done, count)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(failed)
            await asyncio.sleep(interval)

    return asyncio.create_task(loop(), name=name)
