"""The names of the client facts (docs/design.md section 6): the contract between the SDK,
which collects them when the vendor enables it, and the server's evidence reports."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

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


def chosen_facts(facts: bool | Iterable[str], authors: Sequence[str], trackers: Sequence[str]) -> tuple[str, ...]:
    """The facts an application chose to send (``True``: all of them); ``ValueError`` names what is unknown."""
    names = FACT_NAMES if facts is True else () if facts is False else tuple(facts)
    unknown = [name for name in names if name not in FACT_NAMES]
    if unknown:
        raise ValueError(f"unknown facts {unknown}; known: {', '.join(FACT_NAMES)}")
    if len(authors) > MAX_FREE_FIELDS or len(trackers) > MAX_FREE_FIELDS:
        raise ValueError(f"at most {MAX_FREE_FIELDS} author and {MAX_FREE_FIELDS} tracker fields")
    return names
