"""Reverse host lookups that time out leave the event loop clean (uvloop, as ``licentia serve`` runs).

uvloop completes a ``getnameinfo`` future from a libuv callback that does not
check whether the future was cancelled; a lookup cancelled by its timeout made
that callback raise ``InvalidStateError`` into the loop's exception handler,
which logged a traceback for every slow address.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvloop

from licentia.server.evidence.reverse_dns import ReverseResolver


def _run_on_uvloop(main: Any) -> list[dict[str, Any]]:
    """Run ``main()`` on a uvloop event loop; return what reached the loop's exception handler."""
    reported: list[dict[str, Any]] = []

    async def wrapper() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
        await main()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(wrapper())
    return reported


def test_lookups_that_time_out_report_nothing_to_the_loop() -> None:
    # No cache (ttl 0), and the one address /etc/hosts names: no DNS server takes part.
    resolver = ReverseResolver(timeout=1.0, concurrency=4, ttl=0.0, negative_ttl=0.0)
    answers: list[str | None] = []

    async def main() -> None:
        # Timeouts from 50 us to 2 ms: some end before the lookup starts, some while
        # libuv resolves the name (the case that raised), some after it answered.
        for step in range(1, 41):
            resolver.timeout = step * 50e-6
            answers.extend(await asyncio.gather(*(resolver.lookup("127.0.0.1") for _ in range(8))))
        # Let the abandoned lookups finish in libuv's thread pool and call back into the loop.
        for _ in range(100):
            await asyncio.sleep(0.02)
            if resolver.in_flight == 0:
                break

    reported = _run_on_uvloop(main)
    assert [repr(context.get("exception")) for context in reported] == []
    assert None in answers and set(answers) <= {None, "localhost"}
    # Every slot came back: abandoned lookups held theirs until they really ended.
    assert resolver.in_flight == 0


def test_a_lookup_in_time_answers_the_host_name() -> None:
    resolver = ReverseResolver(timeout=5.0)
    answers: list[str | None] = []

    async def main() -> None:
        answers.append(await resolver.lookup("127.0.0.1"))
        answers.append(await resolver.lookup("not an address"))

    assert _run_on_uvloop(main) == []
    assert answers == ["localhost", None]
