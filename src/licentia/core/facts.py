"""The names of the client facts (docs/design.md section 6): the contract between the SDK,
which collects them when the vendor enables it, and the server's evidence reports."""

from __future__ import annotations

FACT_NAMES = (
    "computer_name",
    "user_name",
    "domain",
    "os_name",
    "os_version",
    "internal_ip",
    "local_time",
    "time_zone",
    "locale",
    "country",
    "registered_owner",
    "registered_organization",
)
# Free fields filled by the application: ``author_1`` .. ``author_10`` (registration
# form) and ``tracker_1`` .. ``tracker_10``.
MAX_FREE_FIELDS = 10
