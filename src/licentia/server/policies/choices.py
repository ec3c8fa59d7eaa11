"""The choices of a license type (policy), each enumerated once and validated by inclusion.

A member is its own string in the database and in JSON, so rows written
before these enumerations read the same. This module imports only ``enum``:
the pure decisions (``devices/decide.py``) and the meters' calendar compare
with it without loading the policies' validation.
"""

from __future__ import annotations

import enum


class SeatKind(enum.StrEnum):
    """What a seat is (the ``kind`` knob)."""

    NODE_LOCKED = "node_locked"  # a seat is a machine, held until freed
    FLOATING = "floating"  # a seat is a lease, checked out and given back (server/leases/)


class SeatUnit(enum.StrEnum):
    """What a node-locked seat counts (the ``seat_unit`` knob)."""

    MACHINE = "machine"  # a seat is a machine (activated with the license key)
    USER = "user"  # a seat is a named person, signed in on up to machines_per_user machines


class ExpiryMode(enum.StrEnum):
    """When a license ends (``expiry_mode``); the date or the days are their own knobs."""

    PERPETUAL = "perpetual"
    FIXED_DATE = "fixed_date"  # on expiry_date
    FROM_ISSUE = "from_issue"  # expiry_days after the license was issued
    FROM_ACTIVATION = "from_activation"  # expiry_days after its first activation


# The modes that count ``expiry_days`` (a policy in one of them needs the days).
COUNTING_DAYS = frozenset({ExpiryMode.FROM_ISSUE, ExpiryMode.FROM_ACTIVATION})


class OnClone(enum.StrEnum):
    """What a caught copy of an installation gets (``on_clone``)."""

    FLAG = "flag"  # recorded as evidence; the copy keeps working
    BLOCK = "block"  # the copy is blocked


class MeterPeriod(enum.StrEnum):
    """The UTC calendar period a meter's limit counts over (``meters.{name}.period``)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"  # never resets
