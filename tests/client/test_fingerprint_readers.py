"""The Linux readers on fake sysfs/procfs trees: machine id, disk serial, CPU, MAC, VM flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from licentia.client.fingerprint import absolute_path, absolute_text, take_fingerprint
from licentia.client.hardware import linux, read_hardware, virtualization
from licentia.core.fingerprint import component_hash, data_path_hash
from tests.client.conftest import FakeMachine


def test_machine_id_falls_back_to_dbus_and_ignores_zeros(tmp_path: Path) -> None:
    assert linux.machine_id(tmp_path) is None
    (tmp_path / "var/lib/dbus").mkdir(parents=True)
    (tmp_path / "var/lib/dbus/machine-id").write_text("abc123\n")
    assert linux.machine_id(tmp_path) == "abc123"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("0000000000\n")
    assert linux.machine_id(tmp_path) == "abc123"
    (tmp_path / "etc/machine-id").write_text("fed987\n")
    assert linux.machine_id(tmp_path) == "fed987"


def test_disk_serial_of_the_mount_holding_the_data_dir(machine: FakeMachine, tmp_path: Path) -> None:
    assert linux.disk_serial(machine.root, tmp_path / "data") == "S3Z9NB0K"
    # A more specific mount on another disk wins for paths below it.
    (machine.root / "sys/block/nvme0n1/nvme0n1p2").mkdir(parents=True)
    machine.write("sys/block/nvme0n1/device/serial", "NVME-42")
    mounts = (machine.root / "proc/self/mountinfo").read_text()
    machine.write("proc/self/mountinfo", mounts + f"30 29 259:2 / {tmp_path}/my\\040data rw - xfs /dev/nvme0n1p2 rw")
    assert linux.disk_serial(machine.root, tmp_path / "my data" / "app") == "NVME-42"
    assert linux.disk_serial(machine.root, tmp_path / "other") == "S3Z9NB0K"


def test_disk_serial_from_by_id_links_and_none_for_overlay(machine: FakeMachine, tmp_path: Path) -> None:
    (machine.root / "sys/block/sda/device/serial").unlink()
    by_id = machine.root / "dev/disk/by-id"
    by_id.mkdir(parents=True)
    os.symlink("../../sda", by_id / "ata-Samsung_SSD_860_S3Z9NB0K123456")
    os.symlink("../../sda1", by_id / "ata-Samsung_SSD_860_S3Z9NB0K123456-part1")
    os.symlink("../../sda", by_id / "wwn-0x5002538e40a1b2c3")
    assert linux.disk_serial(machine.root, tmp_path) == "ata-Samsung_SSD_860_S3Z9NB0K123456"
    machine.write("proc/self/mountinfo", "1 0 0:31 / / rw - overlay overlay rw,lowerdir=/x")
    assert linux.disk_serial(machine.root, tmp_path) is None


def test_cpu_identity_from_the_first_processor(machine: FakeMachine) -> None:
    assert linux.cpu_identity(machine.root) == "GenuineIntel|6|142|Intel(R) Core(TM) i7-8650U|10"
    machine.write("proc/cpuinfo", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n")
    assert linux.cpu_identity(machine.root) == "0x41|||0xd0c|"
    machine.write("proc/cpuinfo", "")
    assert linux.cpu_identity(machine.root) is None


def test_mac_skips_virtual_and_locally_administered_interfaces(machine: FakeMachine) -> None:
    assert linux.permanent_mac(machine.root) is None  # only lo, docker0, veth, a local address
    machine.nic("wlp2s0", "3C:22:FB:12:34:56")
    machine.write("sys/class/net/wlp2s0/addr_assign_type", "3")  # set by user space: not permanent
    assert linux.permanent_mac(machine.root) is None
    machine.nic("eth0", "3C:22:FB:AB:CD:EF")
    machine.nic("br-1a2b", "3c:22:fb:00:00:01")
    assert linux.permanent_mac(machine.root) == "3c:22:fb:ab:cd:ef"


def test_vm_and_container_signals(machine: FakeMachine) -> None:
    assert virtualization.signals(machine.root) == ()
    machine.write("sys/class/dmi/id/sys_vendor", "QEMU")
    machine.write("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)")
    machine.set_cpu("i7", flags="fpu hypervisor sse2")
    machine.write(".dockerenv", "")
    machine.write("proc/1/cgroup", "0::/system.slice/docker-abc.scope")
    assert virtualization.signals(machine.root) == ("dmi:qemu", "cpu:hypervisor", "docker", "cgroup:docker")


def test_fingerprint_hashes_each_component_for_the_product(machine: FakeMachine, tmp_path: Path) -> None:
    machine.nic("eth0", "3c:22:fb:ab:cd:ef")
    fp = take_fingerprint("my-app", tmp_path / "data", machine.root)
    raw = read_hardware(tmp_path / "data", machine.root)
    assert fp.used == ("machine", "disk", "cpu", "mac")
    assert fp.components["disk"] == component_hash("my-app", "disk", "S3Z9NB0K")
    assert fp.components["mac"] == component_hash("my-app", "mac", "3c:22:fb:ab:cd:ef")
    assert fp.data_path == data_path_hash("my-app", str(tmp_path / "data"))
    assert raw.machine is not None and raw.machine not in str(fp.to_request())  # raw ids never sent
    assert take_fingerprint("other-app", tmp_path / "data", machine.root).components != fp.components
    assert not fp.virtual


def test_missing_components_work_with_what_there_is(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    fp = take_fingerprint("my-app", tmp_path / "data", empty)
    assert fp.used == () and fp.data_path
    (empty / "etc").mkdir()
    (empty / "etc/machine-id").write_text("m-1")
    assert take_fingerprint("my-app", tmp_path / "data", empty).used == ("machine",)


@pytest.mark.parametrize(
    "given",
    ["/home/ada/app", "/home/ada/app/", "/a//b/./c/..", "data/app", "./data/../app/", "", ".", "//srv/x", "~/x"],
)
def test_the_data_path_text_is_pathlibs_absolute_path_in_the_working_directory(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the SDK hashes as its data path, and the OS-free rule the conformance vectors record (data_paths)."""
    monkeypatch.chdir(tmp_path)
    assert absolute_path(given) == str(Path(given).absolute()) == absolute_text(given, os.getcwd(), windows=False)


@pytest.mark.parametrize("system", ["darwin", "win32"])
def test_the_macos_and_windows_readers_read_nothing_of_theirs_elsewhere(system: str, tmp_path: Path) -> None:
    """Off their system they run no command and read no registry (their parsing: the vectors' hardware_readers)."""
    raw = read_hardware(tmp_path, platform=system, virtual=False)
    assert raw.machine is None and raw.disk is None
