"""Windows readers: the registry (``winreg``) and ``GetVolumeInformationW`` via ctypes; no subprocess.

What is read is turned into the raw values by :func:`hardware`, a pure function of the recorded
values (the conformance vectors' ``hardware_readers`` feed it recorded registry values).
"""

from __future__ import annotations

import platform
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from licentia.client.hardware import RawHardware, generic

MACHINE_GUID = (r"SOFTWARE\Microsoft\Cryptography", "MachineGuid")
CPU_KEY = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
CPU_VALUES = ("VendorIdentifier", "Identifier", "ProcessorNameString")


def _registry(path: str, name: str) -> str | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        flags = winreg.KEY_READ | winreg.KEY_WOW64_64KEY
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path, 0, flags) as key:
            value, _kind = winreg.QueryValueEx(key, name)
    except OSError:
        return None
    return registry_text(value)


def registry_text(value: object) -> str | None:
    """A registry value as the readers use it: its text, trimmed; None when absent or blank."""
    return None if value is None else str(value).strip() or None


def registered_owner() -> tuple[str | None, str | None]:
    path = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
    return _registry(path, "RegisteredOwner"), _registry(path, "RegisteredOrganization")


def volume_root(absolute_data_dir: str) -> str:
    """The root whose volume serial is read: the data directory's drive or share (``C:\\`` without one)."""
    from pathlib import PureWindowsPath

    return PureWindowsPath(absolute_data_dir).anchor or "C:\\"


def _volume_serial_number(root: str) -> int:
    """``GetVolumeInformationW``'s serial number of the volume at ``root``; 0 when it fails."""
    if sys.platform != "win32":
        return 0
    import ctypes

    serial = ctypes.c_uint32(0)
    ok = ctypes.windll.kernel32.GetVolumeInformationW(
        ctypes.c_wchar_p(root), None, 0, ctypes.byref(serial), None, None, None, 0
    )
    return serial.value if ok else 0


def volume_serial_text(serial: int) -> str | None:
    """A volume serial number as eight upper-case hex digits (changes only when the volume is formatted)."""
    return f"{serial:08X}" if serial else None


def cpu_of(values: Sequence[str | None], machine: str, processor: str) -> str | None:
    """``VendorIdentifier|Identifier|ProcessorNameString``; when none is there, ``platform``'s words."""
    return "|".join(p or "" for p in values) if any(values) else generic.cpu_of(machine, processor)


def hardware(
    machine_guid: object, volume_serial_number: int, cpu_values: Sequence[object], machine: str, processor: str,
    node: int,
) -> RawHardware:  # fmt: skip
    """The raw values from what Windows gave: the registry's values as read (None: absent), the
    data directory's volume serial number (0: unreadable), ``platform``'s words and the MAC node."""
    return RawHardware(
        machine=registry_text(machine_guid),
        disk=volume_serial_text(volume_serial_number),
        cpu=cpu_of([registry_text(v) for v in cpu_values], machine, processor),
        mac=generic.mac_of_node(node),
    )


def read(data_dir: str) -> RawHardware:
    return hardware(
        _registry(*MACHINE_GUID),
        _volume_serial_number(volume_root(str(Path(data_dir).absolute()))),
        [_registry(CPU_KEY, n) for n in CPU_VALUES],
        platform.machine(),
        platform.processor(),
        uuid.getnode(),
    )
