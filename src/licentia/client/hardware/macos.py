"""macOS readers. ``IOPlatformUUID`` needs ``ioreg``: the only subprocess in the SDK, and only on macOS.

Its answer is remembered for the life of the process, never on disk: a value
kept in the data directory would travel with a copy of it to another Mac.
"""

from __future__ import annotations

import functools
import platform
import re
import subprocess
import sys

from licentia.client.hardware import generic

_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"')


@functools.cache  # a subprocess per check would cost more than the whole rest of it
def platform_uuid() -> str | None:
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = _UUID.search(out)
    return found.group(1) if found else None


def cpu_identity() -> str | None:
    return "|".join(p for p in (platform.machine(), platform.processor()) if p) or None


def mac_address() -> str | None:
    return generic.mac_address()
