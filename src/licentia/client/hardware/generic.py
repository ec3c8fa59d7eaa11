"""Fallback readers for platforms without a dedicated reader, and the rules the others share."""

from __future__ import annotations

import platform
import uuid


def cpu_identity() -> str | None:
    return cpu_of(platform.machine(), platform.processor())


def cpu_of(machine: str, processor: str) -> str | None:
    """``machine|processor`` as Python's ``platform`` gives them (``uname -m`` and ``-p``), the empty ones left out."""
    return "|".join(p for p in (machine, processor) if p) or None


def mac_address() -> str | None:
    return mac_of_node(uuid.getnode())


def mac_of_node(node: int) -> str | None:
    """A 48-bit node (``uuid.getnode()``) as ``aa:bb:...``, or None when it is not a card's own address.

    A random node has the multicast bit set (RFC 4122), and a locally administered
    one is made up too: hashing either would make a new "device" on every start,
    worse than no MAC at all.
    """
    if (node >> 40) & 0x01 or (node >> 40) & 0x02:
        return None
    return ":".join(f"{(node >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))
