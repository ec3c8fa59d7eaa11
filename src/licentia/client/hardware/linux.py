"""Linux readers: plain file reads under ``root`` (``/`` in production, a fake tree in tests).

Paths are plain strings (``os.path``): ``pathlib`` would cost every
application's start more than all these reads together.
"""

from __future__ import annotations

import os

StrPath = str | os.PathLike[str]

_MACHINE_ID_FILES = ("etc/machine-id", "var/lib/dbus/machine-id")
# Interfaces that are software, not a network card: their address is invented
# by the kernel or a container runtime and changes between boots.
_VIRTUAL_NIC_PREFIXES = (
    "lo", "docker", "veth", "br-", "br", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "ifb", "dummy",
    "bond", "team", "cni", "flannel", "cali", "zt", "tailscale",
)  # fmt: skip


def _join(root: StrPath, *parts: str) -> str:
    return os.path.join(root, *parts)


def read_text(path: StrPath, limit: int = 65536) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit).strip()
    except OSError:
        return None


def machine_id(root: StrPath) -> str | None:
    for name in _MACHINE_ID_FILES:
        value = read_text(_join(root, name))
        if value and set(value) != {"0"}:
            return value
    return None


def cpu_info(root: StrPath) -> dict[str, str]:
    """The first processor's block of ``/proc/cpuinfo`` plus the flags line."""
    text = read_text(_join(root, "proc/cpuinfo"), limit=32768) or ""
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            info.setdefault(key.strip().lower(), value.strip())
    return info


def cpu_identity(root: StrPath) -> str | None:
    info = cpu_info(root)
    # x86 names vendor/family/model/stepping; ARM names implementer/part/revision.
    fields = ("vendor_id", "cpu family", "model", "model name", "stepping")
    arm = ("cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision")
    values = [info.get(f, "") for f in fields]
    if not any(values):
        values = [info.get(f, "") for f in arm]
    return "|".join(values) if any(values) else None


def _is_locally_administered(mac: str) -> bool:
    try:
        first = int(mac.split(":")[0], 16)
    except ValueError:
        return True
    # Bit 1 of the first octet: set by software (containers, VPNs, randomised Wi-Fi).
    return bool(first & 0x02) or bool(first & 0x01)


def permanent_mac(root: StrPath) -> str | None:
    net = _join(root, "sys/class/net")
    try:
        names = sorted(os.listdir(net))
    except OSError:
        return None
    for name in names:
        if name.startswith(_VIRTUAL_NIC_PREFIXES):
            continue
        iface = os.path.join(net, name)
        if not os.path.exists(os.path.join(iface, "device")):
            continue  # no bus device behind it: a virtual interface
        if (read_text(os.path.join(iface, "addr_assign_type")) or "0") != "0":
            continue  # random, stolen or set by user space: not the card's own address
        mac = (read_text(os.path.join(iface, "address")) or "").lower()
        if len(mac) != 17 or mac == "00:00:00:00:00:00" or _is_locally_administered(mac):
            continue
        return mac
    return None


def _unescape_mount(text: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def mount_source(root: StrPath, path: StrPath) -> str | None:
    """The device (``/dev/sda1``) of the mount that holds ``path``: the longest matching mount point."""
    text = read_text(_join(root, "proc/self/mountinfo"), limit=1 << 20) or ""
    target = os.fspath(path)
    best, best_len = None, -1
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        rest = tail.split()
        if not sep or len(fields) < 5 or len(rest) < 2:
            continue
        point = _unescape_mount(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/") or point == "/"
        if inside and len(point) > best_len:
            best, best_len = rest[1], len(point)
    return best


def _disk_of_partition(root: StrPath, name: str) -> str | None:
    block = _join(root, "sys/block")
    if os.path.isdir(os.path.join(block, name)):
        return name
    try:
        for disk in os.listdir(block):
            if os.path.isdir(os.path.join(block, disk, name)):
                return disk
    except OSError:
        return None
    return None


def disk_serial(root: StrPath, data_dir: StrPath) -> str | None:
    """Serial of the physical disk holding ``data_dir`` (sysfs first, then ``/dev/disk/by-id``)."""
    source = mount_source(root, os.path.abspath(data_dir))
    if not source or not source.startswith("/dev/"):
        return None  # overlay, tmpfs, network share: no disk of its own
    disk = _disk_of_partition(root, os.path.basename(source))
    if disk is None:
        return None
    device = _join(root, "sys/block", disk)
    for candidate in ("device/serial", "serial", "device/wwid"):
        value = read_text(os.path.join(device, candidate))
        if value:
            return value
    by_id = _join(root, "dev/disk/by-id")
    try:
        links = sorted(os.listdir(by_id))
    except OSError:
        return None
    for link in links:
        if link.startswith(("wwn-", "dm-", "lvm-", "md-")) or "-part" in link:
            continue
        try:
            if os.path.basename(os.readlink(os.path.join(by_id, link))) == disk:
                return link  # e.g. ata-Samsung_SSD_860_S3Z9NB0K123456: model and serial
        except OSError:
            continue
    return None
