"""Raw hardware identifiers, read per operating system.

Each reader returns the raw value or ``None`` and never raises: a container
without DMI, a disk without a serial or a sandbox without ``/sys`` simply
contributes fewer components. Raw values never leave this package unhashed
(see :mod:`licentia.client.fingerprint`).

Linux readers take a filesystem ``root`` so tests run them against fake
sysfs/procfs trees; no reader starts a subprocess on Linux or Windows.
"""

from __future__ import annotations

import os
import sys

from licentia.client._value import Value

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from licentia.client.hardware.linux import StrPath


class RawHardware(Value):
    """What could be read on this machine; ``None`` means "not available here"."""

    __slots__ = ("cpu", "disk", "mac", "machine", "virtual_signals")
    machine: str | None
    disk: str | None
    cpu: str | None
    mac: str | None
    virtual_signals: tuple[str, ...]

    def __init__(
        self,
        machine: str | None = None,
        disk: str | None = None,
        cpu: str | None = None,
        mac: str | None = None,
        virtual_signals: tuple[str, ...] = (),
    ) -> None:
        self._init(machine=machine, disk=disk, cpu=cpu, mac=mac, virtual_signals=virtual_signals)

    def components(self) -> dict[str, str]:
        found = {"machine": self.machine, "disk": self.disk, "cpu": self.cpu, "mac": self.mac}
        return {name: value for name, value in found.items() if value}


def read_hardware(
    data_dir: StrPath, root: StrPath | None = None, platform: str | None = None, *, virtual: bool = True
) -> RawHardware:
    """Read this machine's identifiers; ``root`` (a fake tree) forces the Linux readers.

    ``virtual=False`` leaves out the VM/container signals (only the server judges them).
    """
    system = "linux" if root is not None else (platform or sys.platform)
    if system.startswith("linux"):
        from licentia.client.hardware import linux

        base = os.fspath(root) if root is not None else "/"
        signals: tuple[str, ...] = ()
        if virtual:
            from licentia.client.hardware import virtualization

            signals = virtualization.signals(base)
        return RawHardware(
            machine=linux.machine_id(base),
            disk=linux.disk_serial(base, data_dir),
            cpu=linux.cpu_identity(base),
            mac=linux.permanent_mac(base),
            virtual_signals=signals,
        )
    if system == "win32":
        from licentia.client.hardware import windows

        return windows.read(os.fspath(data_dir))
    if system == "darwin":
        from licentia.client.hardware import macos

        return macos.read()
    from licentia.client.hardware import generic

    return RawHardware(cpu=generic.cpu_identity(), mac=generic.mac_address())
