"""Immutable value objects for the SDK's answers, without ``dataclasses``.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis`` and
``tokenize``): about as much CPU time as starting Python itself, paid by every
launch of every application that checks its license. The SDK's few value types
need only what this base gives: keyword or positional construction (their own
``__init__``), equality and hashing over their fields, a readable ``repr``,
immutability and ``as_dict()``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from typing import Any


class Value:
    """Base of the SDK's immutable values; a subclass lists its fields in ``__slots__``."""

    __slots__: tuple[str, ...] = ()
    _not_compared: frozenset[str] = frozenset()

    def _init(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__ if name not in self._not_compared)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON, logs, templates)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Value)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash((self.__class__, *(_hashable(v) for v in self._compared())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__class__.__name__} is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__, self.as_dict()))


def _rebuild(cls: type[Value], fields: dict[str, Any]) -> Value:
    value = cls.__new__(cls)
    value._init(**fields)
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class FlushResult(Value):
    """What a flush did: ``sent`` (acknowledged, new and duplicates), ``duplicates`` (stored by an
    earlier send), ``dropped`` (refused as malformed: never acceptable), ``remaining`` (still queued).

    Defined here, not in ``events``, so that importing the SDK does not import the queue.
    """

    __slots__ = ("dropped", "duplicates", "remaining", "sent")
    sent: int
    duplicates: int
    dropped: int
    remaining: int

    def __init__(self, sent: int, duplicates: int, dropped: int, remaining: int) -> None:
        self._init(sent=sent, duplicates=duplicates, dropped=dropped, remaining=remaining)
