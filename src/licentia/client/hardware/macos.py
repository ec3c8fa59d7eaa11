"""macOS readers. ``IOPlatformUUID`` needs ``ioreg``: the only subprocess in the SDK, and only on macOS.

Its answer is remembered for the life of the process, never on disk: a value
kept in the data directory would travel with a copy of it to another Mac.
What is read is parsed by :func:`hardware`, a pure function of the recorded
outputs (the conformance vectors' ``hardware_readers`` feed it recorded text).
"""

from __future__ import annotations

import functools
import platform
import re
import subprocess
import sys
import uuid

from licentia.client.hardware import RawHardware, generic

_UUID = re.compile(r'"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]+)"')


@functools.cache  # a subprocess per check would cost more than the whole rest of it
def _ioreg() -> str | None:
    """What ``ioreg -rd1 -c IOPlatformExpertDevice`` prints, or None when it cannot run."""
    if sys.platform != "darwin":
        return None
    try:
        return subprocess.run(
            ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def uuid_of(ioreg_output: str | None) -> str | None:
    """The ``IOPlatformUUID`` that ``ioreg`` printed, as printed."""
    found = _UUID.search(ioreg_output) if ioreg_output else None
    return found.group(1) if found else None


def hardware(ioreg_output: str | None, machine: str, processor: str, node: int) -> RawHardware:
    """The raw values from what this Mac gave: ``ioreg``'s text, ``uname -m`` and ``-p``, the MAC node (no disk)."""
    return RawHardware(
        machine=uuid_of(ioreg_output), cpu=generic.cpu_of(machine, processor), mac=generic.mac_of_node(node)
    )


def read() -> RawHardware:
    return hardware(_ioreg(), platform.machine(), platform.processor(), uuid.getnode())
