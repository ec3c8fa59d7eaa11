"""How an audit entry reads: the words that name what it touched, and its details as people read them.

:mod:`licentia.server.audit` writes each action's sentence with these; the admin
page's :class:`Words` links and escapes (``admin/audit/sentences.py``), the docs'
print plainly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol


class Words(Protocol):
    """How a reader names what an entry touched: the admin page links and escapes, plain text prints."""

    def say(self, template: str, /, *values: object) -> str:
        """``template.format(*values)``, each value escaped where the reader needs it."""
        ...

    def license(self, license_id: object, *, owner: bool = True) -> str: ...

    def product(self, product: object) -> str: ...

    def machine(self, device: object) -> str: ...

    def admin(self, admin_id: object, email: object = None) -> str: ...

    def webhook(self, webhook_id: object) -> str: ...


# (target id, details, words) -> the sentence, without who and when (they have their own columns).
Sentence = Callable[[Any, Mapping[str, Any], Words], str]


def shown(value: Any) -> str:
    """A detail as people read it: yes/no, 1,200, a date and time in UTC, lists joined."""
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:  # an ISO timestamp: shown as a date and time, in UTC
            return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return listed(map(str, value))
    return str(value)


def counted(count: Any, noun: str, nouns: str | None = None) -> str:
    """``1 machine``, ``2 machines``, ``1,200 devices``."""
    number = count if isinstance(count, int) and not isinstance(count, bool) else None
    return f"{shown(count)} {noun if number == 1 else nouns or noun + 's'}"


def listed(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = [str(item) for item in items]
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)
