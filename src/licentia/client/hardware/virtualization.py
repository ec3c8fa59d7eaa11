"""Virtual machine and container signals (Linux), read under a filesystem ``root``.

A VM is a device like any other, but the vendor's policy may refuse them and
evidence reports show them, so the SDK reports whether it runs in one.
"""

from __future__ import annotations

import os

from licentia.client.hardware.linux import StrPath, cpu_info, read_text

_DMI_FILES = ("sys_vendor", "product_name", "board_vendor", "bios_vendor", "chassis_vendor")
_HYPERVISOR_VENDORS = (
    "qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "bochs", "parallels",
    "virtual machine", "hyper-v", "amazon ec2", "google compute engine", "openstack", "bhyve",
)  # fmt: skip
_CONTAINER_CGROUPS = ("docker", "kubepods", "containerd", "lxc", "libpod", "podman")


def signals(root: StrPath) -> tuple[str, ...]:
    """Names of the signals found, e.g. ``("dmi:qemu", "cpu:hypervisor", "docker")``; empty on bare metal."""
    found: list[str] = []
    for name in _DMI_FILES:
        value = (read_text(os.path.join(root, "sys/class/dmi/id", name)) or "").lower()
        hit = next((vendor for vendor in _HYPERVISOR_VENDORS if vendor in value), None)
        if hit and f"dmi:{hit}" not in found:
            found.append(f"dmi:{hit}")
    if "hypervisor" in cpu_info(root).get("flags", "").split():
        found.append("cpu:hypervisor")
    if os.path.exists(os.path.join(root, ".dockerenv")):
        found.append("docker")
    if os.path.exists(os.path.join(root, "run/.containerenv")):
        found.append("podman")
    cgroup = (read_text(os.path.join(root, "proc/1/cgroup")) or "").lower()
    hit = next((name for name in _CONTAINER_CGROUPS if name in cgroup), None)
    if hit:
        found.append(f"cgroup:{hit}")
    return tuple(found)
