"""This installation's fingerprint: hashed hardware components plus the hashed data path.

Raw identifiers are hashed with the product (``core.fingerprint.component_hash``)
before they are stored or sent, so they never leave the machine. Reading the
hardware costs a few dozen small file reads, so the result is cached in the
state file and refreshed on every online check; offline checks use the cache
(see ``Licentia.check``).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licentia.client.hardware import RawHardware, read_hardware
from licentia.core.fingerprint import COMPONENTS, component_hash, data_path_hash


@dataclass(frozen=True)
class Fingerprint:
    """Hashed components (only those this machine could read), data path hash, VM/container flag."""

    components: Mapping[str, str]
    data_path: str
    virtual: bool
    virtual_signals: tuple[str, ...] = ()

    @property
    def used(self) -> tuple[str, ...]:
        """Which components went into the fingerprint, in order of worth."""
        return tuple(name for name in COMPONENTS if name in self.components)

    def to_request(self) -> dict[str, Any]:
        return {"components": dict(self.components), "data_path": self.data_path, "virtual": self.virtual}

    def to_state(self) -> dict[str, Any]:
        return {**self.to_request(), "signals": list(self.virtual_signals), "host": host_marker()}

    @classmethod
    def from_state(cls, unverified: Any, data_path: str) -> Fingerprint | None:
        """The cached fingerprint, if it was taken on this host for this data path.

        The host marker stops a state file copied to another computer from
        lending its cached fingerprint to the copy; the data path check stops a
        copied folder (another installation) from doing the same.
        """
        if not isinstance(unverified, dict) or unverified.get("host") != host_marker():
            return None
        components = unverified.get("components")
        if unverified.get("data_path") != data_path or not isinstance(components, dict):
            return None
        clean = {str(k): str(v) for k, v in components.items() if k in COMPONENTS and isinstance(v, str)}
        signals = tuple(str(s) for s in unverified.get("signals") or ())
        return cls(clean, data_path, bool(unverified.get("virtual")), signals)


def host_marker() -> str:
    return socket.gethostname()


def fingerprint_of(product: str, data_dir: Path, raw: RawHardware) -> Fingerprint:
    components = {name: component_hash(product, name, value) for name, value in raw.components().items()}
    return Fingerprint(
        components=components,
        data_path=data_path_hash(product, str(data_dir.absolute())),
        virtual=bool(raw.virtual_signals),
        virtual_signals=raw.virtual_signals,
    )


def take_fingerprint(product: str, data_dir: Path, root: Path | None = None) -> Fingerprint:
    """Read the hardware now (``root``: a fake filesystem tree for tests) and hash it for ``product``."""
    return fingerprint_of(product, data_dir, read_hardware(data_dir, root))
