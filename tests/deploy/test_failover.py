"""Three hosts behind HAProxy, one killed with kill -9 under load and restarted: nothing a client was told is lost.

bench/failover.py, reduced (tens of seconds of load). What it asserts is what the
operator of a several-host deployment counts on: every event the server acknowledged
is in the database, no license holds more machines than its seats although machines
raced for them through different hosts while one died, and every check the SDK
applications made was answered by the server, the SDK's retries absorbing the
requests cut off with the host.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_host_killed_under_load_loses_nothing_and_clients_see_no_failure(run_bench):
    figures, output = run_bench(
        "failover.py", "--seconds", "24", "--throughput-seconds", "3", "--clients", "4", "--load", "3"
    )
    assert figures["events_acknowledged"] > 100, output  # the load was real
    assert figures["events_lost"] == 0, output
    assert figures["racers"] > figures["seats"]
    assert figures["seats_granted"] == figures["seats"], output  # every seat was taken, by distinct machines
    assert figures["seats_over_allocated"] == 0, output
    assert figures["sdk_checks"] > 50, output
    assert figures["sdk_checks_failed"] == 0, output  # every check was answered online
    assert figures["sdk_checks_copy_suspected"] == 0, output  # a retried check is not taken for a copy
    assert figures["sdk_calls_failed"] == 0, output
    assert figures["ready_again_at"] > figures["restarted_at"] > figures["killed_at"] > 0
    assert figures["throughput_three"] > 0 and figures["throughput_one"] > 0
