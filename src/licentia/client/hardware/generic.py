"""Fallback readers for platforms without a dedicated reader."""

from __future__ import annotations

import platform
import uuid


def cpu_identity() -> str | None:
    parts = [platform.machine(), platform.processor()]
    text = "|".join(p for p in parts if p)
    return text or None


def mac_address() -> str | None:
    """``uuid.getnode()`` or None when it had to invent a random address.

    A random node has the multicast bit set (RFC 4122); hashing it would make a
    new "device" on every start, worse than no MAC at all.
    """
    node = uuid.getnode()
    if (node >> 40) & 0x01 or (node >> 40) & 0x02:
        return None
    return ":".join(f"{(node >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))
