"""``hardware_readers``: what macOS and Windows give the SDK, as the raw values it hashes.

Like ``linux_readers`` for the other systems: recorded outputs fed to the Python SDK's readers
(``client.hardware.macos.hardware`` and ``windows.hardware``, pure functions of what was read).
macOS: ``ioreg -rd1 -c IOPlatformExpertDevice``'s text (recorded in ``conformance/fixtures/``),
``uname -m`` and ``-p`` (Python's ``platform.machine()`` and ``processor()``) and the MAC node
(``uuid.getnode()``: the first card's address as a 48-bit integer). Windows: the registry values
``HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid`` and ``VendorIdentifier``, ``Identifier``,
``ProcessorNameString`` of ``HKLM\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0`` (64-bit view),
``GetVolumeInformationW``'s serial number of the data directory's volume, ``platform``'s words and
the MAC node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from licentia.client.fingerprint import absolute_text
from licentia.client.hardware import macos, windows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NODE = 0x3C528210AABB  # a card's own address: 3c:52:82:10:aa:bb
RANDOM_NODE = 0x1F5A2B3C4D5E  # multicast bit set: uuid made it up
LOCAL_NODE = 0x0A0027000001  # locally administered: a virtual card's

WINDOWS_CPU = ["GenuineIntel", "Intel64 Family 6 Model 142 Stepping 10", "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz"]
WINDOWS_PLATFORM = {"machine": "AMD64", "processor": "Intel64 Family 6 Model 142 Stepping 10, GenuineIntel"}
DATA_DIR = "C:\\Users\\Ada\\AppData\\Roaming\\my-app"
CWD = "C:\\Users\\Ada"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="ascii")


def _macos_inputs() -> list[tuple[str, dict[str, Any]]]:
    silicon = {"ioreg": _fixture("ioreg-apple-silicon.txt"), "machine": "arm64", "processor": "arm", "node": NODE}
    intel = {"ioreg": _fixture("ioreg-intel.txt"), "machine": "x86_64", "processor": "i386", "node": NODE}
    return [
        ("an Apple Silicon Mac", silicon),
        ("an Intel Mac: the UUID as printed, lower case kept", intel),
        ("ioreg cannot run (a sandbox)", {**silicon, "ioreg": None}),
        ("ioreg prints no platform UUID", {**silicon, "ioreg": "+-o Root  <class IORegistryEntry>\n"}),
        ("no spaces around the equals sign", {**silicon, "ioreg": '"IOPlatformUUID"="3A1B7F2C-9D4E-5F60"\n'}),
        ("an empty UUID is none", {**silicon, "ioreg": '"IOPlatformUUID" = ""\n'}),
        ("no processor word", {**silicon, "processor": ""}),
        ("no words at all", {**silicon, "machine": "", "processor": ""}),
        ("a node uuid made up (multicast bit)", {**silicon, "node": RANDOM_NODE}),
        ("a locally administered node", {**silicon, "node": LOCAL_NODE}),
        ("a node with leading zero bytes", {**silicon, "node": 0x00000C0A0B01}),
    ]


def _windows_inputs() -> list[tuple[str, dict[str, Any], str]]:
    desktop = {"machine_guid": "4f1c2b7e-9d0a-4c3b-8e6f-5a1d2c3b4a59", "volume_serial": 0x5A1D2C3B,
               "cpu": WINDOWS_CPU, **WINDOWS_PLATFORM, "node": NODE}  # fmt: skip
    arm = ["Qualcomm Technologies Inc", "ARMv8 (64-bit) Family 8 Model 1 Revision 201",
           "Snapdragon(R) X Elite - X1E78100 - Qualcomm(R) Oryon(TM) CPU"]  # fmt: skip
    return [
        ("a desktop", desktop, DATA_DIR),
        ("the name padded with spaces, as Intel's often is", {**desktop, "cpu": [*WINDOWS_CPU[:2],
                                                                                "  " + WINDOWS_CPU[2] + "    "]},
         DATA_DIR),
        ("an ARM laptop", {**desktop, "cpu": arm, "machine": "ARM64"}, DATA_DIR),
        ("no processor values: platform's words", {**desktop, "cpu": [None, None, None]}, DATA_DIR),
        ("blank processor values: platform's words", {**desktop, "cpu": ["", " ", None]}, DATA_DIR),
        ("one processor value: the others empty", {**desktop, "cpu": ["GenuineIntel", None, None]}, DATA_DIR),
        ("no machine GUID", {**desktop, "machine_guid": None}, DATA_DIR),
        ("a blank machine GUID", {**desktop, "machine_guid": "   "}, DATA_DIR),
        ("a GUID with a line end", {**desktop, "machine_guid": "4f1c2b7e-9d0a-4c3b-8e6f-5a1d2c3b4a59\r\n"},
         DATA_DIR),
        ("a small serial: eight digits", {**desktop, "volume_serial": 0x1A2B}, DATA_DIR),
        ("the largest serial", {**desktop, "volume_serial": 0xFFFFFFFF}, DATA_DIR),
        ("no volume serial (the call failed)", {**desktop, "volume_serial": 0}, DATA_DIR),
        ("data on another drive", desktop, "D:\\Apps\\my-app"),
        ("data on a share", desktop, "\\\\server\\share\\my-app"),
        ("a relative data directory: the working directory's drive", desktop, "data\\my-app"),
        ("a node uuid made up (multicast bit)", {**desktop, "node": RANDOM_NODE}, DATA_DIR),
    ]  # fmt: skip


def expected(case: dict[str, Any]) -> dict[str, Any]:
    recorded = case["recorded"]
    if case["os"] == "macos":
        raw = macos.hardware(recorded["ioreg"], recorded["machine"], recorded["processor"], recorded["node"])
        volume = None
    else:
        volume = windows.volume_root(absolute_text(case["data_dir"], case["cwd"], windows=True))
        raw = windows.hardware(recorded["machine_guid"], recorded["volume_serial"], recorded["cpu"],
                               recorded["machine"], recorded["processor"], recorded["node"])  # fmt: skip
    return {"machine": raw.machine, "disk": raw.disk, "cpu": raw.cpu, "mac": raw.mac, "volume": volume}


def cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, recorded in _macos_inputs():
        case: dict[str, Any] = {"name": name, "os": "macos", "recorded": recorded, "data_dir": None, "cwd": None}
        case["expected"] = expected(case)
        out.append(case)
    for name, recorded, data_dir in _windows_inputs():
        case = {"name": name, "os": "windows", "recorded": recorded, "data_dir": data_dir, "cwd": CWD}
        case["expected"] = expected(case)
        out.append(case)
    return out
