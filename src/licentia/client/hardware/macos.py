"""macOS readers. ``IOPlatformUUID`` needs ``ioreg``: the only subprocess in the SDK, and only on macOS."""

from __future__ import annotations

import platform
import re
import subprocess
import sys

from licentia.client.hardware import generic

_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"')


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
