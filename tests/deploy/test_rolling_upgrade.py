"""A release whose migration is expand-only is deployed host by host under load with no failed check.

bench/rolling_upgrade.py: three hosts on this tree; under a load of SDK checks and a
generator without retries, the next release (this tree plus an expand migration after
whatever the head is) migrates the database, then each host is drained on HAProxy's
admin socket, stopped gracefully, started on the next release and put back.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_hosts_upgraded_one_by_one_under_load_fail_no_check(run_bench):
    figures, output = run_bench("rolling_upgrade.py", "--clients", "3", "--load", "2")
    assert figures["old_hosts_ready_after_migration"] == figures["hosts"] == 3, output
    assert sorted(figures["upgraded"]) == ["host1", "host2", "host3"]
    assert figures["sdk_checks"] > 30, output
    assert figures["sdk_checks_failed"] == 0, output
    assert figures["load_requests"] > 100, output
    assert figures["load_errors"] == {}, output  # not one request failed, even without retries
