"""An explicit move: the installation of a previous data folder on this computer adopted by a new one.

A new version that keeps its state elsewhere (another data path) calls
``Licentia.move_from(old_data_dir)`` once: the server records the move
(``moved``, or ``upgrade`` when the version changed) with both data paths,
rotates the token and names the new data path in the document; the state left
in the old folder is then a copy and stops working there. A state copied into
another folder any other way is a copy (``state_copied``), as before.
"""

from __future__ import annotations

import contextlib
import os
import time

from licentia.client._exceptions import ConfigurationError
from licentia.client.fingerprint import absolute_path
from licentia.client.state import StateFile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from licentia.client._client import Licentia
    from licentia.client.escrow import Escrow
    from licentia.client.status import Status


def move_from(lic: Licentia, old_data_dir: str | os.PathLike[str]) -> Status:
    """Adopt the installation kept in ``old_data_dir`` (same product, same computer) into ``lic``'s data folder.

    Raises :class:`ConfigurationError` when the old folder holds no installation
    or is this one, :class:`ServerRefused` (``other_machine``, ``stale_token``)
    or :class:`Offline` when the server does not take the move; nothing changes
    in either folder then.
    """
    old_dir = absolute_path(old_data_dir)
    if old_dir == lic._dir:
        raise ConfigurationError("the old data folder is this installation's own")
    old_file = StateFile(old_dir)
    old = old_file.load()
    if old.credential is None:
        raise ConfigurationError(f"no installation's state in {old_dir}")
    if lic.state_file.load().credential is not None:
        raise ConfigurationError(f"{lic._dir} already holds an installation: move into an empty data folder")
    fingerprint = lic.fingerprint()  # this folder's data path: the one the installation moves to
    deadline = time.monotonic() + lic.transport.timeout
    old.escrowed = False  # escrowed again under the new data path
    answer, asked = lic._post("/v1/move", fingerprint, old, deadline)
    status = lic._accept(answer, asked, old, fingerprint)  # verified and bound, then saved in the new folder
    _old_escrow(lic, old_dir).forget()
    with contextlib.suppress(OSError):
        os.unlink(old_file.path)  # the old folder's state is void on the server now; do not leave it to be run
    return status


def _old_escrow(lic: Licentia, old_dir: str) -> Escrow:
    from licentia.client.escrow import Escrow
    from licentia.core.fingerprint import data_path_hash

    return Escrow(lic.transport.server_url, lic.product, data_path_hash(lic.product, old_dir))
