"""Windows readers: the registry (``winreg``) and ``GetVolumeInformationW`` via ctypes; no subprocess."""

from __future__ import annotations

import sys
from pathlib import Path

from licentia.client.hardware import generic


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
    return str(value).strip() or None


def machine_guid() -> str | None:
    return _registry(r"SOFTWARE\Microsoft\Cryptography", "MachineGuid")


def registered_owner() -> tuple[str | None, str | None]:
    path = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
    return _registry(path, "RegisteredOwner"), _registry(path, "RegisteredOrganization")


def volume_serial(data_dir: str | Path) -> str | None:
    """Serial number of the volume holding ``data_dir`` (changes only when the volume is formatted)."""
    if sys.platform != "win32":
        return None
    import ctypes

    drive = Path(Path(data_dir).absolute().anchor or "C:\\")
    serial = ctypes.c_uint32(0)
    ok = ctypes.windll.kernel32.GetVolumeInformationW(
        ctypes.c_wchar_p(str(drive)), None, 0, ctypes.byref(serial), None, None, None, 0
    )
    return f"{serial.value:08X}" if ok and serial.value else None


def cpu_identity() -> str | None:
    path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    parts = [_registry(path, n) for n in ("VendorIdentifier", "Identifier", "ProcessorNameString")]
    return "|".join(p or "" for p in parts) if any(parts) else generic.cpu_identity()


def mac_address() -> str | None:
    return generic.mac_address()
