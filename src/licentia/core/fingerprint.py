"""Device identity: hashed hardware components matched K of N.

Raw identifiers never leave the machine: each component is hashed on the
device with HMAC-SHA256 keyed by the product, so two vendors cannot correlate
their users and a leaked database reveals no serial numbers. The application's
data path is hashed the same way; two data paths on one machine are two
installations (side-by-side installs).
"""

from __future__ import annotations

from licentia.core.digests import hmac_sha256 as hmac_sha256  # kept importable from here

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# Hardware components, in the order they are worth as evidence. The CPU identity
# is shared by every machine of a model, so it never identifies a device alone.
COMPONENTS = ("machine", "disk", "cpu", "mac")
WEAK_COMPONENTS = frozenset({"cpu"})
# The policy's ``fingerprint_min_match`` counts the 3 hardware components (disk,
# CPU, network card): with the default 2, one changed part is tolerated. The OS
# machine id is a fourth component under the same tolerance.
HARDWARE_COMPONENTS = 3
HASH_HEX_LENGTH = 64


def component_hash(product: str, name: str, raw: str) -> str:
    """Hash one raw identifier for ``product`` (the SDK and web-API users do this)."""
    return hmac_sha256(f"licentia:{product}".encode(), f"{name}:{raw}".encode()).hex()


def data_path_hash(product: str, path: str) -> str:
    return component_hash(product, "data_path", path)


def required_matches(presented: Mapping[str, str], min_match: int) -> int:
    """How many of the presented components must be equal for a match.

    The policy tolerates ``3 - min_match`` changed components whatever the
    number read: one replaced disk is the same machine, a new disk and a new
    network card are not. A machine that reads few components (a container
    without DMI or disk serials) must still match on at least one.
    """
    tolerated = max(0, HARDWARE_COMPONENTS - min_match)
    return max(1, len(presented) - tolerated)


# Component hashes are compared with ``==``, not in constant time: they are not
# secrets (any program on the machine can compute them, and recognition by
# fingerprint grants no rights), so timing reveals nothing worth having.


def match_count(stored: Mapping[str, str | None], presented: Mapping[str, str]) -> int:
    return sum(1 for name, value in presented.items() if value and stored.get(name) and str(stored[name]) == value)


def matches(stored: Mapping[str, str | None], presented: Mapping[str, str], min_match: int) -> bool:
    """True when ``presented`` is the same device as ``stored`` under the policy's K of N."""
    equal = [name for name, value in presented.items() if value and (known := stored.get(name)) and str(known) == value]
    # At least one strong component must agree: the CPU model alone is not identity.
    if not any(name not in WEAK_COMPONENTS for name in equal):
        return False
    return len(equal) >= required_matches(presented, min_match)


def another_computer(stored: Mapping[str, str | None], presented: Mapping[str, str]) -> bool:
    """True when ``presented`` keeps none of the strong components ``stored`` has (and shares one to compare).

    A hardware upgrade keeps some part (the disk, the OS install, the network
    card); a state carried to another computer keeps none of them.
    """
    comparable = [
        name for name, value in presented.items() if value and name not in WEAK_COMPONENTS and stored.get(name)
    ]
    return bool(comparable) and all(str(stored[name]) != presented[name] for name in comparable)


def changed_components(stored: Mapping[str, str | None], presented: Mapping[str, str]) -> list[str]:
    return sorted(name for name, value in presented.items() if stored.get(name) != value)
