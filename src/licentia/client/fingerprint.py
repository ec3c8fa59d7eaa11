"""This installation's fingerprint: hashed hardware components plus the hashed data path.

Raw identifiers are hashed with the product (``core.fingerprint.component_hash``)
before they are sent, so they never leave the machine. The hardware is read
afresh for every check, online and offline: a fingerprint cached in the data
directory would travel with a copy of it to other hardware. Reading it costs a
handful of small file reads on Linux and Windows; only macOS's ``ioreg`` call
is remembered, for the life of the process (see ``hardware.macos``).
"""

from __future__ import annotations

import os

from licentia.client._value import Value
from licentia.client.hardware import read_hardware
from licentia.core.fingerprint import COMPONENTS, component_hash, data_path_hash

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from licentia.client.hardware import RawHardware
    from licentia.client.hardware.linux import StrPath


class Fingerprint(Value):
    """Hashed components (only those this machine could read), data path hash, VM/container flag."""

    __slots__ = ("components", "data_path", "virtual", "virtual_signals")
    components: Mapping[str, str]
    data_path: str
    virtual: bool
    virtual_signals: tuple[str, ...]

    def __init__(
        self, components: Mapping[str, str], data_path: str, virtual: bool, virtual_signals: tuple[str, ...] = ()
    ) -> None:
        self._init(components=components, data_path=data_path, virtual=virtual, virtual_signals=virtual_signals)

    @property
    def used(self) -> tuple[str, ...]:
        """Which components went into the fingerprint, in order of worth."""
        return tuple(name for name in COMPONENTS if name in self.components)

    def to_request(self) -> dict[str, Any]:
        return {"components": dict(self.components), "data_path": self.data_path, "virtual": self.virtual}


def absolute_path(path: StrPath) -> str:
    """``str(Path(path).absolute())``, the text the data path hash was always taken of.

    A clean absolute POSIX path (what ``platformdirs`` gives, and nearly every
    application passes) is that text already; anything else goes through
    ``pathlib`` itself, so no installation's data path hash ever changes.
    """
    text = os.fspath(path)
    if os.name == "posix" and text.startswith("/") and not text.startswith("//") and os.path.normpath(text) == text:
        return text
    return absolute_text(text, os.getcwd(), windows=os.name == "nt")


def absolute_text(text: str, cwd: str, *, windows: bool) -> str:
    """``str(Path(text).absolute())`` on POSIX or Windows, in working directory ``cwd``, without the OS.

    ``pathlib``'s rule, which every SDK follows (conformance ``data_paths``): separators made
    the OS's own, repeated ones and ``.`` parts dropped, a trailing one dropped, ``..`` and
    the letters' case kept, a relative path joined to ``cwd`` (on Windows, a path rooted
    without a drive takes ``cwd``'s drive).
    """
    from pathlib import PurePosixPath, PureWindowsPath

    flavour = PureWindowsPath if windows else PurePosixPath
    path = flavour(text)
    return str(path if path.is_absolute() else flavour(cwd) / path)


def fingerprint_of(product: str, data_dir: StrPath, raw: RawHardware, data_path: str | None = None) -> Fingerprint:
    components = {name: component_hash(product, name, value) for name, value in raw.components().items()}
    return Fingerprint(
        components=components,
        data_path=data_path or data_path_hash(product, absolute_path(data_dir)),
        virtual=bool(raw.virtual_signals),
        virtual_signals=raw.virtual_signals,
    )


def take_fingerprint(
    product: str, data_dir: StrPath, root: StrPath | None = None, *, data_path: str | None = None, virtual: bool = True
) -> Fingerprint:
    """Read the hardware now (``root``: a fake filesystem tree for tests) and hash it for ``product``.

    ``virtual=False`` skips the VM/container signals: the offline check matches
    components only, and the signals are a dozen more file reads.
    """
    return fingerprint_of(product, data_dir, read_hardware(data_dir, root, virtual=virtual), data_path)
