"""Write the conformance vectors every Licentia client must pass.

The vectors are computed by the Python core (``src/licentia/core``) and checked
in as ``conformance/vectors.json``; a test fails when the checked-in file
differs from what this script writes now, so a change of a rule in the core
shows up as a changed vector that every client must then follow.

It also writes the contract's words for the clients in other languages, from
the core's enumerations (``src/licentia/core/vocabulary.py``): event kinds,
statuses, the reasons a status document gives, license states and the error
codes a client acts on, as
``clients/js/src/vocabulary.ts`` and ``clients/c/include/licentia_vocabulary.h``.

    python conformance/generate.py          # rewrite vectors.json and the clients' words
    python conformance/generate.py --check  # exit 1 if any of them is stale

Everything is deterministic: keys come from fixed seeds, times are fixed, and
Ed25519 signatures are deterministic.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from licentia.client._exceptions import InvalidAnswer
from licentia.client.answers import Asked
from licentia.client.fingerprint import Fingerprint
from licentia.client.hardware import read_hardware
from licentia.client.state import State
from licentia.client.status import Status, credential_of, denied, status_of, verify_for_installation
from licentia.core.answers import clock_offset, refusal, server_time
from licentia.core.canonical import canonical_json
from licentia.core.clock import UTC, from_iso, to_iso
from licentia.core.fingerprint import component_hash, data_path_hash, matches, required_matches
from licentia.core.licensekeys import ALPHABET, KeyFormatError, _check_char, format_key, normalize_key
from licentia.core.signing import InvalidDocument, SigningKey, verify_document
from licentia.core.status import DEFAULT_ROLLBACK_TOLERANCE
from licentia.core.vocabulary import (
    REPORTED_EVENT_KINDS,
    ClientErrorCode,
    DeviceStatus,
    EventKind,
    LicenseState,
    StatusReason,
)

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors.json"
# Sections whose clients are not all done yet: each client that follows one runs it from this file, and the
# section moves into vectors.json once every client does (so no client's runner fails on it meanwhile).
PENDING_VECTORS = HERE / "vectors-pending.json"
TYPESCRIPT_WORDS = HERE.parent / "clients" / "js" / "src" / "vocabulary.ts"
C_WORDS = HERE.parent / "clients" / "c" / "include" / "licentia_vocabulary.h"
FORMAT = 1
if str(HERE) not in sys.path:  # the sections beside this script, whether run or loaded by the tests
    sys.path.insert(0, str(HERE))

from sections import (  # noqa: E402
    airgapped,
    consumption,
    credentials,
    data_paths,
    entitlements,
    hardware_readers,
    installer_tickets,
    last_seen,
    latest_release,
    leases,
    licensee,
    proxy_trail,
    state,
)
from sections.common import (  # noqa: E402
    COMPONENTS,
    DATA_DIR,
    DATA_PATH,
    KEY_1,
    KEY_2,
    KEY_3,
    OTHER_VENDOR,
    PRODUCT,
    REGISTERED,
    T0,
    flip_sig,
    mutate,
    payload,
    pinned,
    set_doc,
    signed_text,
    trusted,
)

# -- canonical JSON -------------------------------------------------------------

CANONICAL_INPUTS: list[tuple[str, str]] = [
    ("empty object", "{}"),
    ("empty array", "[]"),
    ("scalars", '[true,false,null,0,"",-1]'),
    ("white space is dropped", ' {\n\t"b" : [ 1 , 2 ] ,\r\n "a" : { } } '),
    ("keys sort at every depth", '{"b":{"d":1,"c":[{"z":0,"y":1}]},"a":2}'),
    (
        "keys sort by code point, not by UTF-16 unit",
        '{"\\uffff":1,"\\ud83d\\ude00":2,"\\u00e9":3,"z":4,"Z":5,"":6,"aa":7,"a":8}',
    ),
    ("keys sort by code point above the BMP", '{"\\ud834\\udd1e":1,"\\uff21":2,"\\ue000":3,"\\ud7ff":4}'),
    ("non-ASCII is written as UTF-8, not escaped", '"\\u00e9 \\u4e2d\\u6587 \\u2135\\u2080 \\ud834\\udd1e"'),
    ("raw UTF-8 input stays UTF-8", '"ünïcode «中文» 😀"'),
    ("every control character", '"' + "".join(f"\\u{c:04x}" for c in range(32)) + '"'),
    ("quote, backslash and slash", '"\\" \\\\ \\/ /"'),
    ("DEL, line and paragraph separators, BOM, NEL stay raw", '"\\u007f\\u2028\\u2029\\ufeff\\u0085"'),
    # Not a NUL inside a key: Jansson (the C client's parser) refuses those, and no
    # document the server signs has one; the C client refuses such a document.
    ("NUL inside a string", '{"a":"x\\u0000y","b":["\\u0000"]}'),
    ("the largest integer", "9223372036854775807"),
    ("the smallest integer", "-9223372036854775807"),
    ("integers beside the 53-bit limit", "[9007199254740991,9007199254740992,9007199254740993,-9007199254740993]"),
    ("minus zero is zero", "-0"),
    ("duplicate keys: the last one wins", '{"a":1,"a":2}'),
    ("deep nesting", '[[[[[[[[[[{"x":[[[]]]}]]]]]]]]]]'),
    ("an integer just past the limit", "9223372036854775808"),
    ("the integer just below the smallest", "-9223372036854775808"),
    ("a float", "1.5"),
    ("a float that looks whole", "1.0"),
    ("an exponent", "1e2"),
    ("a float inside an object", '{"lease":[0.0]}'),
    ("a lone surrogate", '"\\ud800"'),
]


def canonical_case(name: str, text: str) -> dict[str, Any]:
    try:
        out = canonical_json(json.loads(text))
    except (TypeError, ValueError):
        return {"name": name, "json": text, "error": True}
    return {"name": name, "json": text, "canonical": out.decode("utf-8")}


# -- signed documents -------------------------------------------------------------
def signature_inputs() -> list[tuple[str, list[str], str, str | None]]:
    """(name, pinned keys, signed text, verification time) for every case."""
    genuine = signed_text(KEY_1, payload())
    e12, e23 = KEY_1.endorse(KEY_2, PRODUCT), KEY_2.endorse(KEY_3, PRODUCT)
    other_product_e23 = KEY_2.endorse(KEY_3, "other-app")
    forged_e = OTHER_VENDOR.endorse(KEY_3, PRODUCT)
    at = to_iso(T0)
    spaced = json.dumps(json.loads(genuine), ensure_ascii=True, indent=2)
    cases: list[tuple[str, list[str], str, str | None]] = [
        ("genuine", pinned(KEY_1), genuine, at),
        ("genuine, white space and escapes in the wrapper", pinned(KEY_1), spaced, at),
        ("genuine, with no verification time", pinned(KEY_1), genuine, None),
        ("genuine registered", pinned(KEY_1), signed_text(KEY_1, payload(**REGISTERED)), at),
        ("genuine, two pinned keys", pinned(OTHER_VENDOR, KEY_1), genuine, at),
        ("genuine, big integers and NUL", pinned(KEY_1),
         signed_text(KEY_1, payload(grace_days=2**63 - 1, usage_report_days=-(2**63 - 1), note="a\u0000b")), at),
        ("status changed", pinned(KEY_1), mutate(genuine, set_doc("status", "registered")), at),
        ("feature added", pinned(KEY_1), mutate(genuine, set_doc("features", ["pro"])), at),
        ("lease extended", pinned(KEY_1), mutate(genuine, set_doc("lease_until", "2036-03-08T12:00:00Z")), at),
        ("trial end removed", pinned(KEY_1), mutate(genuine, lambda b: b["document"].pop("trial_end")), at),
        ("unicode changed", pinned(KEY_1), mutate(genuine, set_doc("note", "unicode «中文» 😀 \u2028")), at),
        ("integer written as a float", pinned(KEY_1), genuine.replace('"grace_days":7', '"grace_days":7.0'), at),
        ("signature changed", pinned(KEY_1), mutate(genuine, flip_sig), at),
        ("signature truncated", pinned(KEY_1), mutate(genuine, lambda b: b.__setitem__("sig", b["sig"][:-4])), at),
        ("signature missing", pinned(KEY_1), mutate(genuine, lambda b: b.pop("sig")), at),
        ("document missing", pinned(KEY_1), mutate(genuine, lambda b: b.pop("document")), at),
        ("document not an object", pinned(KEY_1), mutate(genuine, lambda b: b.__setitem__("document", [1])), at),
        ("not JSON", pinned(KEY_1), genuine[:-1], at),
        ("not an object", pinned(KEY_1), "[" + genuine + "]", at),
        ("wrong product", pinned(KEY_1), signed_text(KEY_1, payload(product="other-app")), at),
        ("other vendor's key", pinned(KEY_1), signed_text(OTHER_VENDOR, payload()), at),
        ("other vendor's key under the pinned key id", pinned(KEY_1),
         mutate(signed_text(OTHER_VENDOR, payload()), lambda b: b.__setitem__("kid", KEY_1.kid)), at),
        ("issued 9 minutes ahead of the clock", pinned(KEY_1), genuine, to_iso(T0 - dt.timedelta(minutes=9))),
        ("issued 11 minutes ahead of the clock", pinned(KEY_1), genuine, to_iso(T0 - dt.timedelta(minutes=11))),
        ("no issue time", pinned(KEY_1), signed_text(KEY_1, {"product": PRODUCT, "status": "trial"}), at),
        ("rotated twice, endorsement chain in order", pinned(KEY_1), signed_text(KEY_3, payload(), [e12, e23]), at),
        ("rotated twice, endorsement chain reversed", pinned(KEY_1), signed_text(KEY_3, payload(), [e23, e12]), at),
        ("rotated, new key pinned, no chain", pinned(KEY_3), signed_text(KEY_3, payload()), at),
        ("retired key's document, only the new key pinned", pinned(KEY_3), genuine, at),
        ("retired key's document, old and new key pinned", pinned(KEY_1, KEY_3), genuine, at),
        ("rotated twice, a link missing", pinned(KEY_1), signed_text(KEY_3, payload(), [e23]), at),
        ("rotated, endorsement for another product", pinned(KEY_1),
         signed_text(KEY_3, payload(), [e12, other_product_e23]), at),
        ("rotated, endorsement by another vendor", pinned(KEY_1),
         signed_text(KEY_3, payload(), [{**forged_e, "by": KEY_1.kid}]), at),
        ("rotated, endorsement's kid differs from its key", pinned(KEY_1),
         signed_text(KEY_3, payload(), [e12, {**e23, "kid": KEY_2.kid}]), at),
        ("rotated, endorsement's signature changed", pinned(KEY_1),
         signed_text(KEY_3, payload(), [e12, {**e23, "sig": ("B" if e23["sig"][0] == "A" else "A") + e23["sig"][1:]}]),
         at),
        ("endorsements not a list", pinned(KEY_1),
         mutate(signed_text(KEY_3, payload(), [e12, e23]), lambda b: b.__setitem__("endorsements", {"a": e12})), at),
        ("more than 32 endorsements", pinned(KEY_1), signed_text(KEY_3, payload(), [e12] * 32 + [e23]), at),
        ("32 endorsements", pinned(KEY_1), signed_text(KEY_3, payload(), [e12] * 31 + [e23]), at),
    ]  # fmt: skip
    return cases


def signature_case(name: str, keys: list[str], text: str, at: str | None) -> dict[str, Any]:
    case: dict[str, Any] = {"name": name, "product": PRODUCT, "pinned": keys, "at": at, "signed": text}
    try:
        result = verify_document(text, trusted(keys), product=PRODUCT, at_time=from_iso(at) if at else None)
    except InvalidDocument:
        return {**case, "valid": False}
    return {**case, "valid": True, "payload_canonical": canonical_json(result).decode("utf-8")}


# -- fingerprints and license keys ---------------------------------------------------


def fingerprint_cases() -> dict[str, Any]:
    hashes = [
        {"product": product, "name": name, "raw": raw, "hash": component_hash(product, name, raw)}
        for product, name, raw in [
            (PRODUCT, "machine", "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59"),
            (PRODUCT, "disk", "ata-Samsung_SSD_860_S3Z9NB0K123456"),
            (PRODUCT, "cpu", "GenuineIntel|6|142|Intel(R) Core(TM) i7-8650U|10"),
            (PRODUCT, "mac", "3c:52:82:10:aa:bb"),
            ("other-app", "mac", "3c:52:82:10:aa:bb"),
            (PRODUCT, "data_path", DATA_DIR),
            (PRODUCT, "data_path", "C:\\Users\\Åsa\\AppData\\Roaming\\my-app"),
            (PRODUCT, "machine", ""),
        ]
    ]
    stored = dict(COMPONENTS)
    other = {name: component_hash(PRODUCT, name, "replaced") for name in stored}
    match_inputs = [
        ("all four equal", stored, 2),
        ("one part replaced", {**stored, "disk": other["disk"]}, 2),
        ("two parts replaced", {**stored, "disk": other["disk"], "mac": other["mac"]}, 2),
        ("two parts replaced, policy tolerates two", {**stored, "disk": other["disk"], "mac": other["mac"]}, 1),
        ("three read, one replaced", {k: v for k, v in {**stored, "mac": other["mac"]}.items() if k != "machine"}, 2),
        ("only the CPU equal", {"cpu": stored["cpu"], "disk": other["disk"]}, 2),
        ("only the CPU read", {"cpu": stored["cpu"]}, 2),
        ("only the machine id read", {"machine": stored["machine"]}, 2),
        ("strict policy, one replaced", {**stored, "disk": other["disk"]}, 3),
        ("an empty value never matches", {**stored, "disk": "", "mac": ""}, 2),
        ("nothing read", {}, 2),
    ]
    matching = [
        {"name": name, "stored": stored, "presented": presented, "min_match": k,
         "required": required_matches(presented, k), "matches": matches(stored, presented, k)}
        for name, presented, k in match_inputs
    ]  # fmt: skip
    return {"hashes": hashes, "matching": matching}


def license_key_cases() -> list[dict[str, Any]]:
    body = "".join(ALPHABET[(i * 7 + 3) % 32] for i in range(24))
    good = format_key(body + _check_char(body))
    compact = good.replace("-", "")
    substituted = compact[:5] + ("B" if compact[5] != "B" else "C") + compact[6:]
    i = next(i for i in range(23) if compact[i] != compact[i + 1] and {compact[i], compact[i + 1]} != {"A", "9"})
    swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
    inputs = [
        ("well formed", good),
        ("lower case, spaces and tabs", " " + good.lower().replace("-", " \t") + " "),
        ("no dashes", compact),
        ("one character mistyped", format_key(substituted)),
        ("two neighbours swapped", format_key(swapped)),
        ("the check character wrong", good[:-1] + ("A" if good[-1] != "A" else "B")),
        ("one character missing", good[:-1]),
        ("one character too many", good + "A"),
        ("a letter O for a zero-like 0", good[:6] + "O" + good[7:]),
        ("a digit 1", good[:6] + "1" + good[7:]),
        ("empty", ""),
        ("non-ASCII", good[:6] + "É" + good[7:]),
    ]
    out = []
    for name, text in inputs:
        try:
            out.append({"name": name, "input": text, "valid": True, "normalized": normalize_key(text)})
        except KeyFormatError:
            out.append({"name": name, "input": text, "valid": False})
    return out


# -- Linux hardware readers ------------------------------------------------------------

_CPU_X86 = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n"
    "model name\t: Intel(R) Core(TM) i7-8650U\nstepping\t: 10\nflags\t\t: fpu sse2\n\n"
    "processor\t: 1\nvendor_id\t: OtherVendor\n"
)
_CPU_ARM = (
    "processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
    "CPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n"
)
_MACHINE: dict[str, Any] = {
    "files": {
        "etc/machine-id": "4f1c2b7e9d0a4c3b8e6f5a1d2c3b4a59\n",
        "proc/self/mountinfo": "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
        "sys/block/sda/device/serial": "  S3Z9NB0K123456 \n",
        "proc/cpuinfo": _CPU_X86,
        "sys/class/net/lo/address": "00:00:00:00:00:00\n",
        "sys/class/net/docker0/address": "02:42:ac:11:00:02\n",
        "sys/class/net/enp0s31f6/address": "0a:00:27:00:00:01\n",
        "sys/class/net/enp0s31f6/addr_assign_type": "0\n",
        "sys/class/net/eth0/address": "3C:52:82:10:AA:BB\n",
        "sys/class/net/eth0/addr_assign_type": "0\n",
        "sys/class/net/eth1/address": "3c:52:82:10:aa:cc\n",
        "sys/class/net/eth1/addr_assign_type": "1\n",
    },
    "dirs": [
        "sys/block/sda/sda1",
        "sys/class/net/enp0s31f6/device",
        "sys/class/net/eth0/device",
        "sys/class/net/eth1/device",
    ],
    "links": {},
}


def _variant(**changes: Any) -> dict[str, Any]:
    tree = copy.deepcopy(_MACHINE)
    for key in ("files", "links"):
        tree[key].update(changes.get(key, {}))
        for rel in changes.get(f"drop_{key}", ()):
            tree[key].pop(rel)
    tree["dirs"] += changes.get("dirs", [])
    return tree


def reader_inputs() -> list[tuple[str, dict[str, Any], str]]:
    home = "/home/ada/.local/share/my-app"
    mounts = "29 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 29 8:17 / /home\\040x rw - ext4 /dev/sdb1 rw\n"
    by_id = _variant(
        files={"proc/self/mountinfo": mounts},
        dirs=["sys/block/sdb/sdb1"],
        links={
            "dev/disk/by-id/ata-Samsung_SSD_860_S3Z9": "../../sdb",
            "dev/disk/by-id/ata-Samsung_SSD_860_S3Z9-part1": "../../sdb1",
            "dev/disk/by-id/wwn-0x5002538e": "../../sdb",
        },
    )
    nvme = _variant(
        files={
            "proc/self/mountinfo": "29 1 8:1 / / rw - ext4 /dev/nvme0n1p2 rw\n",
            "sys/block/nvme0n1/device/wwid": "eui.0025388b91b3a4c1\n",
        },
        dirs=["sys/block/nvme0n1/nvme0n1p2"],
    )
    dbus = _variant(files={"etc/machine-id": "0" * 32, "var/lib/dbus/machine-id": "dbus-id-1\n"})
    overlay = _variant(files={"proc/self/mountinfo": "29 1 0:1 / / rw - overlay overlay rw\n"})
    return [
        ("a desktop: machine id, disk serial, x86 CPU, the card's own address", _MACHINE, home),
        ("an all-zero machine id falls back to D-Bus's", dbus, home),
        ("ARM processors name implementer, part and revision", _variant(files={"proc/cpuinfo": _CPU_ARM}), home),
        ("an overlay root has no disk of its own", overlay, home),
        ("the longest mount point wins, spaces unescaped; by-id when sysfs has no serial", by_id, "/home x/ada"),
        ("a partition's disk found under sys/block", nvme, home),
        ("no card of its own: nothing", _variant(files={"sys/class/net/eth0/addr_assign_type": "3\n"}), home),
        ("an empty tree (a bare container)", {"files": {}, "dirs": [], "links": {}}, home),
    ]


def plant_tree(root: Path, tree: dict[str, Any]) -> None:
    """Make a case's fake filesystem (``files``, ``dirs``, ``links``) under ``root``."""
    for rel in tree["dirs"]:
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, text in tree["files"].items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel, target in tree["links"].items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)


def reader_case(name: str, tree: dict[str, Any], data_dir: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        plant_tree(Path(tmp), tree)
        raw = read_hardware(Path(data_dir), Path(tmp))
    found = {"machine": raw.machine, "disk": raw.disk, "cpu": raw.cpu, "mac": raw.mac}
    return {"name": name, **tree, "data_dir": data_dir, "expected": found}


# -- offline decisions --------------------------------------------------------------


def decide_offline(case: dict[str, Any]) -> Status:
    """What the SDK's offline ``check()`` answers (``Licentia._check_offline``) for these inputs."""
    if case["signed"] is None:
        return denied("no_document")
    now = from_iso(case["now"])
    last_seen = from_iso(case["last_seen"]) if case["last_seen"] else None
    tolerance = dt.timedelta(seconds=case["rollback_tolerance_seconds"])
    # Rollback: the local clock against the latest local time seen (no server time in it).
    if last_seen is not None and now < last_seen - tolerance:
        return denied("clock_rollback", state="clock_rollback")
    # Everything else: the local clock set right by the offset the last bound answer measured.
    at = server_time(now, case["offset_seconds"])
    presented = Fingerprint(case["fingerprint"]["components"], case["fingerprint"]["data_path"], False)
    try:
        verified = verify_for_installation(
            json.loads(case["signed"]), trusted(case["pinned"]), product=case["product"], fingerprint=presented,
            at_time=at,
        )  # fmt: skip
    except InvalidDocument:
        return denied("invalid_document")
    return status_of(verified, at, online=False)


def offline_inputs() -> list[tuple[str, str | None, dt.datetime, dt.datetime | None, dict[str, str], str, int]]:
    trial = signed_text(KEY_1, payload())
    registered = signed_text(KEY_1, payload(**REGISTERED))
    perpetual = signed_text(KEY_1, payload(**{**REGISTERED, "license": {"id": "li_9", "expires_at": None}}))
    suspended = signed_text(KEY_1, payload(status="suspended", allowed=False, reason="license_suspended"))
    blocked = signed_text(KEY_1, payload(status="blocked", allowed=False, reason=None))
    strict = signed_text(KEY_1, payload(min_match=3))
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    mine = dict(COMPONENTS)
    disk = {**mine, "disk": component_hash(PRODUCT, "disk", "new disk")}
    two = {**disk, "mac": component_hash(PRODUCT, "mac", "02:00:00:00:00:01")}
    cpu_only = {"cpu": mine["cpu"], "disk": disk["disk"]}
    elsewhere = data_path_hash(PRODUCT, "/home/eve/copy")
    ending = signed_text(KEY_1, payload(trial_end=to_iso(T0 + 2 * day)))
    lapsed = signed_text(KEY_1, payload(**{**REGISTERED, "license": {"expires_at": to_iso(T0 + day)}}))
    forged = mutate(trial, set_doc("lease_until", "2036-01-01T00:00:00Z"))
    rotated = signed_text(KEY_2, payload(), [KEY_1.endorse(KEY_2, PRODUCT)])
    second = dt.timedelta(seconds=1)
    here = DATA_PATH
    cases = [
        ("trial inside its lease", trial, T0 + day, T0, mine, here),
        ("trial, 23.5 hours later: days left count started days", trial, T0 + 23.5 * hour, T0, mine, here),
        ("trial after its end", ending, T0 + 3 * day, T0, mine, here),
        ("trial exactly at its end", ending, T0 + 2 * day, T0, mine, here),
        ("lease ended, inside grace", trial, T0 + 10 * day, T0, mine, here),
        ("lease ends this second", trial, T0 + 7 * day, T0, mine, here),
        ("grace ends this second", trial, T0 + 14 * day, T0, mine, here),
        ("grace over", trial, T0 + 14 * day + second, T0, mine, here),
        ("registered with features", registered, T0 + 2 * day, T0, mine, here),
        ("registered, license expired (lease still running)", lapsed, T0 + 2 * day, T0, mine, here),
        ("registered without expiry, in grace", perpetual, T0 + 8 * day, T0, mine, here),
        ("suspended", suspended, T0 + day, T0, mine, here),
        ("blocked without a reason", blocked, T0 + day, T0, mine, here),
        ("clock wound back past the tolerance", trial, T0 + day, T0 + day + 2 * hour + second, mine, here),
        ("clock wound back inside the tolerance", trial, T0 + day, T0 + day + 2 * hour, mine, here),
        ("clock before the issue time by 11 minutes", trial, T0 - dt.timedelta(minutes=11), None, mine, here),
        ("one part replaced", trial, T0 + day, T0, disk, here),
        ("two parts replaced", trial, T0 + day, T0, two, here),
        ("strict policy, one part replaced", strict, T0 + day, T0, disk, here),
        ("only the CPU equal", trial, T0 + day, T0, cpu_only, here),
        ("copied to another data directory", trial, T0 + day, T0, mine, elsewhere),
        ("forged lease", forged, T0 + 30 * day, T0, mine, here),
        ("other vendor's document", signed_text(OTHER_VENDOR, payload()), T0 + day, T0, mine, here),
        ("rotated key with endorsement", rotated, T0 + day, T0, mine, here),
        ("no stored document", None, T0 + day, T0, mine, here),
        ("no last-seen time", trial, T0 + day, None, mine, here),
    ]  # fmt: skip
    # The clock's offset from the server's, measured on the last bound answer (last_seen is local time).
    behind5, behind2d = int(5 * hour.total_seconds()), int(2 * day.total_seconds())
    skewed = [
        ("clock 5 hours behind, offset kept", trial, T0 + day - 5 * hour, T0 - 5 * hour, mine, here, behind5),
        ("clock 2 days behind, offset kept", trial, T0 - 2 * day + hour, T0 - 2 * day, mine, here, behind2d),
        ("clock 2 days behind, no offset kept (an older state)", trial, T0 - 2 * day + hour, T0 - 2 * day, mine,
         here, 0),
        ("clock 5 hours ahead, offset kept", trial, T0 + day + 5 * hour, T0 + 5 * hour, mine, here, -behind5),
        ("clock 5 hours behind, wound back 3 hours after the check", trial, T0 - 8 * hour, T0 - 5 * hour, mine,
         here, behind5),
        ("clock 5 hours behind, wound back an hour (inside the tolerance)", trial, T0 + day - 6 * hour,
         T0 + day - 5 * hour, mine, here, behind5),
        ("clock 5 hours behind: the lease ends by the server's time", trial, T0 + 7 * day - 5 * hour + second,
         T0 - 5 * hour, mine, here, behind5),
        ("clock 5 hours ahead: the lease still runs by the server's time", trial, T0 + 7 * day + 4 * hour,
         T0 + 5 * hour, mine, here, -behind5),
        ("clock 2 days behind: the trial ends by the server's time", ending, T0 + day + 2 * hour, T0 - 2 * day,
         mine, here, behind2d),
        ("clock 2 days behind: registered, license expiry by the server's time", lapsed, T0 - day + second,
         T0 - 2 * day, mine, here, behind2d),
    ]  # fmt: skip
    return [(*c, 0) for c in cases] + skewed


def offline_case(name: str, signed: str | None, now: dt.datetime, last_seen: dt.datetime | None,
                 components: dict[str, str], data_path: str, offset: int) -> dict[str, Any]:  # fmt: skip
    case: dict[str, Any] = {
        "name": name,
        "product": PRODUCT,
        "pinned": pinned(KEY_1),
        "signed": signed,
        "now": to_iso(now),
        "last_seen": to_iso(last_seen) if last_seen else None,
        "offset_seconds": offset,
        "rollback_tolerance_seconds": int(DEFAULT_ROLLBACK_TOLERANCE.total_seconds()),
        "fingerprint": {"components": components, "data_path": data_path},
    }
    case["expected"] = _verdict(decide_offline(copy.deepcopy(case)))
    return case


def _verdict(status: Status) -> dict[str, Any]:
    return {
        "allowed": status.allowed,
        "state": status.state,
        "reason": status.reason,
        "days_left": status.days_left,
        "features": list(status.features),
    }


# -- online answers ------------------------------------------------------------------

NONCE = "q8Vf3LkP0aZx7Ww1nB2cDg"
DEVICE, MACHINE = payload()["device"], payload()["machine"]


def decide_online(case: dict[str, Any]) -> tuple[str | None, int | None, Status | None]:
    """What the SDK does with a server's answer (``Licentia._accept``): ``(refusal, offset, status)``."""
    request = case["request"]
    known = json.loads(request["known"]) if request["known"] else None
    asked = Asked(State(signed=known, credential=(request["device"], "secret") if request["device"] else None))
    asked.nonce = request["nonce"]
    presented = Fingerprint(case["fingerprint"]["components"], case["fingerprint"]["data_path"], False)
    answer = json.loads(case["answer"])
    keys = trusted(case["pinned"])
    try:
        verified = verify_for_installation(
            answer["signed"], keys, product=case["product"], fingerprint=presented, at_time=None
        )
        issued = from_iso(str(verified["issued_at"]))
    except (InvalidDocument, KeyError, ValueError):
        return "invalid_document", None, None
    credential = credential_of(answer, verified)
    why = refusal(
        verified, nonce=asked.nonce, device=asked.device, machine=asked._machine(keys, case["product"]),
        credential_device=credential[0] if credential else None,
    )  # fmt: skip
    try:
        asked.bind(verified, credential, keys, case["product"])
    except InvalidAnswer:
        if why is None:
            raise RuntimeError("the SDK refused what the core accepts") from None
        return why, None, None
    return None, clock_offset(issued, from_iso(case["now"])), status_of(verified, issued, online=True)


def online_inputs() -> list[tuple[str, dict[str, Any], dict[str, Any] | None, dt.datetime, str | None, str | None]]:
    """(name, answer's document, credential in the answer, local time at receipt, device asked for, known doc)."""
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    old = dt.datetime(2020, 1, 15, 9, 30, tzinfo=UTC)
    bound = payload(nonce=NONCE)
    known = signed_text(KEY_1, payload(issued_at=to_iso(T0 - day)))
    cred = {"device": DEVICE, "secret": "s3cr3t-s3cr3t"}
    return [
        ("fresh answer, clock right", bound, None, T0 + dt.timedelta(seconds=1), DEVICE, known),
        ("fresh answer, clock 5 hours behind", bound, None, T0 - 5 * hour, DEVICE, known),
        ("fresh answer, clock 2 days behind", bound, None, T0 - 2 * day, DEVICE, known),
        ("fresh answer, clock 5 hours ahead", bound, None, T0 + 5 * hour, DEVICE, known),
        ("fresh registered answer, clock 2 days behind", payload(**REGISTERED, nonce=NONCE), None, T0 - 2 * day,
         DEVICE, known),
        ("fresh answer, no document kept yet", bound, None, T0, DEVICE, None),
        ("old genuine answer replayed (2020, no nonce)",
         payload(issued_at=to_iso(old), lease_until=to_iso(old + 7 * day), trial_end=None), None, T0, DEVICE, known),
        ("old genuine answer replayed with an earlier request's nonce",
         payload(nonce="Zm9yIGFuIGVhcmxpZXIgcmVxdWVzdA", issued_at=to_iso(T0 - 30 * day)), None, T0, DEVICE, known),
        ("genuine answer issued two days ahead, without this nonce", payload(issued_at=to_iso(T0 + 2 * day)), None,
         T0, DEVICE, known),
        ("answer without a nonce", payload(), None, T0, DEVICE, known),
        ("nonce differs in one character", payload(nonce=NONCE[:-1] + "h"), None, T0, DEVICE, known),
        ("nonce not text", payload(nonce=12345), None, T0, DEVICE, known),
        ("another installation's answer carrying this nonce", payload(nonce=NONCE, device="dv_77aa00bb11cc22dd"),
         None, T0, DEVICE, known),
        ("this installation on another machine", payload(nonce=NONCE, machine="mc_0000aaaa1111bbbb"), None, T0,
         DEVICE, known),
        ("first contact: the new credential names the document's device", bound, cred, T0, None, None),
        ("first contact without a credential in the answer", bound, None, T0, None, None),
        ("first contact: the credential names another device", bound, {**cred, "device": "dv_77aa00bb11cc22dd"},
         T0, None, None),
        ("re-identified: a new credential for a new installation on another machine",
         payload(nonce=NONCE, device="dv_99ee88dd77cc66bb", machine="mc_0000aaaa1111bbbb"),
         {"device": "dv_99ee88dd77cc66bb", "secret": "n3w-s3cr3t"}, T0, DEVICE, known),
    ]  # fmt: skip


def online_case(name: str, document: dict[str, Any], credential: dict[str, Any] | None, now: dt.datetime,
                device: str | None, known: str | None, *, key: SigningKey = KEY_1) -> dict[str, Any]:  # fmt: skip
    answer = {"credential": credential, "signed": json.loads(signed_text(key, document))}
    return online_answer_case(name, json.dumps(answer, ensure_ascii=False), now, device, known)


def online_answer_case(name: str, answer: str, now: dt.datetime, device: str | None,
                       known: str | None) -> dict[str, Any]:  # fmt: skip
    case: dict[str, Any] = {
        "name": name,
        "product": PRODUCT,
        "pinned": pinned(KEY_1),
        "fingerprint": {"components": dict(COMPONENTS), "data_path": DATA_PATH},
        "request": {"nonce": NONCE, "device": device, "known": known},
        "answer": answer,
        "now": to_iso(now),
    }
    why, offset, status = decide_online(copy.deepcopy(case))
    case["expected"] = {
        "accepted": why is None,
        "refusal": why,
        "offset_seconds": offset,
        "status": _verdict(status) if status is not None else None,
    }
    return case


def online_cases() -> list[dict[str, Any]]:
    cases = [online_case(*c) for c in online_inputs()]
    known = signed_text(KEY_1, payload(issued_at=to_iso(T0 - dt.timedelta(days=1))))
    bound = payload(nonce=NONCE)
    forged = mutate(signed_text(KEY_1, bound), set_doc("status", "registered"))
    cases += [
        online_case("this nonce, signed by another vendor", bound, None, T0, DEVICE, known, key=OTHER_VENDOR),
        online_case("this nonce, another product's document", payload(nonce=NONCE, product="other-app"), None, T0,
                    DEVICE, known),
        online_case("this nonce, another data path", payload(nonce=NONCE, data_path=data_path_hash(PRODUCT, "/x")),
                    None, T0, DEVICE, known),
        online_answer_case("this nonce, status edited after signing",
                           json.dumps({"credential": None, "signed": json.loads(forged)}), T0, DEVICE, known),
    ]  # fmt: skip
    return cases


# The sections built in conformance/sections/: each module's ``cases()`` gives the cases, and its
# ``expected(case)`` what the Python SDK answers for one case's inputs (the Python runner calls it).
SECTIONS: dict[str, ModuleType] = {
    "credentials": credentials,
    "latest_release": latest_release,
    "last_seen": last_seen,
    "entitlements": entitlements,
    "licensee": licensee,
    "data_paths": data_paths,
    "consumption": consumption,
    "state": state,
    "leases": leases,
    "airgapped": airgapped,
    "hardware_readers": hardware_readers,
    "installer_tickets": installer_tickets,
    "proxy_trail": proxy_trail,
}
# Built the same way, written to vectors-pending.json (see PENDING_VECTORS); none now.
PENDING: dict[str, ModuleType] = {}


def build() -> bytes:
    vectors = {
        "format": FORMAT,
        "about": "Generated by conformance/generate.py from the Python core; do not edit by hand.",
        "canonical": [canonical_case(n, t) for n, t in CANONICAL_INPUTS],
        "signatures": [signature_case(*c) for c in signature_inputs()],
        "fingerprints": fingerprint_cases(),
        "license_keys": license_key_cases(),
        "linux_readers": [reader_case(*c) for c in reader_inputs()],
        "offline": [offline_case(*c) for c in offline_inputs()],
        "online": online_cases(),
        **{name: module.cases() for name, module in SECTIONS.items()},
    }
    # ASCII with escapes: the file's bytes say exactly which code points each case holds.
    return (json.dumps(vectors, ensure_ascii=True, indent=1) + "\n").encode("ascii")


# -- the contract's words, for the clients in other languages ------------------------------

# (its name in TypeScript, its prefix in C, the core's enumeration)
WORDS: list[tuple[str, str, type[enum.StrEnum]]] = [
    ("EventKind", "LICENTIA_EVENT_", EventKind),
    ("DeviceStatus", "LICENTIA_STATUS_", DeviceStatus),
    ("StatusReason", "LICENTIA_REASON_", StatusReason),
    ("LicenseState", "LICENTIA_LICENSE_", LicenseState),
    ("ErrorCode", "LICENTIA_REFUSAL_", ClientErrorCode),
]
GENERATED = "Generated by conformance/generate.py from src/licentia/core/vocabulary.py; do not edit by hand."


def _summary(words: type[enum.StrEnum]) -> str:
    """The enumeration's docstring's first line, in the clients' comment markup."""
    return (words.__doc__ or words.__name__).strip().splitlines()[0].replace("``", "`")


def typescript_words() -> bytes:
    lines = [f"/** {GENERATED} */", ""]
    for name, _, words in WORDS:
        lines += [f"/** {_summary(words)} */", f"export const {name} = {{"]
        lines += [f"  {member.name}: {json.dumps(member.value)}," for member in words]
        lines += ["} as const;", f"export type {name} = (typeof {name})[keyof typeof {name}];", ""]
    lines += [
        "/** What an application may report; the other kinds only the server records. */",
        "export const REPORTED_EVENT_KINDS: ReadonlySet<string> = new Set<string>([",
        *(f"  EventKind.{kind.name}," for kind in EventKind if kind in REPORTED_EVENT_KINDS),
        "]);",
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def c_words() -> bytes:
    lines = [f"/* {GENERATED} */", "#ifndef LICENTIA_VOCABULARY_H", "#define LICENTIA_VOCABULARY_H", ""]
    for _, prefix, words in WORDS:
        lines.append(f"/* {prefix}*: {_summary(words)} */")
        lines += [f"#define {prefix}{member.name} {json.dumps(member.value)}" for member in words]
        lines.append("")
    lines.append("#endif")
    return ("\n".join(lines) + "\n").encode("ascii")


def build_pending() -> bytes:
    vectors = {
        "format": FORMAT,
        "about": "Generated by conformance/generate.py from the Python core; do not edit by hand. Sections on their "
        "way into vectors.json: a client runs those it follows (see conformance/README.md).",
        **{name: module.cases() for name, module in PENDING.items()},
    }
    return (json.dumps(vectors, ensure_ascii=True, indent=1) + "\n").encode("ascii")


def outputs() -> dict[Path, bytes]:
    """Every file this script writes, with what it holds now."""
    return {
        VECTORS: build(),
        PENDING_VECTORS: build_pending(),
        TYPESCRIPT_WORDS: typescript_words(),
        C_WORDS: c_words(),
    }


def main(argv: list[str]) -> int:
    fresh = outputs()
    if "--check" in argv:
        stale = [path for path, text in fresh.items() if not path.exists() or path.read_bytes() != text]
        for path in stale:
            print(f"{path.relative_to(HERE.parent)} is stale: run python conformance/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in fresh.items():
        path.write_bytes(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
