"""The installation's credential kept outside its data folder, so a reinstall resumes the installation.

An uninstaller removes the application's data folder (``state.json`` with the
credential and the rotating token); the server would then see a new
installation, and a licensed application would come back in trial. So the SDK
also keeps the credential (device id and secret, nothing else) where an
uninstaller does not look: the operating system's credential store through
``keyring`` (Windows Credential Locker, macOS Keychain, the Secret Service)
where one works, else a 0600 file in the user's configuration directory. An
entry is keyed by the server, the product and the data path's hash, so a second
data path (another installation on this computer) never takes it.

It is read only when the data folder holds no credential: an offline start with
its state never imports any of this. A check with the escrowed credential and
no token is, to the server, the same installation reinstalled (docs/web-api.md).
The credential authenticates only together with this machine's hardware: the
same credential on another computer is a copy, as a copied data folder is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os

from licentia.client.state import write_private_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_ENTRY_BYTES = 4096
_SERVICE = "licentia"


class Escrow:
    """One installation's escrowed credential: ``load()``, ``save()``, ``forget()``; never raises."""

    def __init__(self, server_url: str, product: str, data_path: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.product = product
        self.data_path = data_path
        # One name for the entry in every store: the three keys, hashed (a data path hash is public anyway).
        self.account = hashlib.sha256(f"{self.server_url}\n{product}\n{data_path}".encode()).hexdigest()

    def load(self) -> tuple[str, str] | None:
        """The escrowed credential of this installation, if any store holds a well-formed one."""
        for text in (_keyring_get(self.account), self._read_file()):
            found = self._parse(text)
            if found is not None:
                return found
        return None

    def save(self, credential: tuple[str, str]) -> None:
        """Keep ``credential`` (in the OS's store if one works, else in the file); a failure only logs."""
        entry = {"device": credential[0], "secret": credential[1]}
        text = json.dumps({**entry, "server": self.server_url, "product": self.product, "data_path": self.data_path})
        if _keyring_set(self.account, text):
            self._remove_file()  # one place only: the OS's store
            return
        try:
            self._write_file(text)
        except OSError as exc:
            _log().warning("cannot keep the installation's credential for a reinstall: %s", exc)

    def forget(self) -> None:
        """Remove the escrowed credential from every store (``Licentia.uninstall(forget=True)``)."""
        _keyring_delete(self.account)
        self._remove_file()

    # -- the file ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        from licentia.client.dirs import user_config_dir

        return os.path.join(user_config_dir("licentia"), "credentials", self.account)

    def _read_file(self) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
            with open(fd, "rb") as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        return raw.decode("utf-8", "replace") if len(raw) <= MAX_ENTRY_BYTES else None

    def _write_file(self, text: str) -> None:
        path = self.path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private_file(path, text.encode(), prefix=".credential-")  # 0600, never through a planted link

    def _remove_file(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _parse(self, text: str | None) -> tuple[str, str] | None:
        """A credential only from an entry of this server, product and data path, with well-formed parts."""
        from licentia.client.status import is_token

        if not text:
            return None
        try:
            entry: Any = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(entry, dict):
            return None
        mine = (entry.get("server"), entry.get("product"), entry.get("data_path"))
        device, secret = entry.get("device"), entry.get("secret")
        if mine != (self.server_url, self.product, self.data_path) or not (is_token(device) and is_token(secret)):
            return None
        return str(device), str(secret)


# -- the operating system's credential store, through keyring -------------------------------


def _backend() -> Any:
    """keyring's backend when one works here, else None (no store, or keyring not installed)."""
    try:
        import keyring
        from keyring.backends import fail, null
    except Exception:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    return None if isinstance(backend, (fail.Keyring, null.Keyring)) else backend


def _keyring_get(account: str) -> str | None:
    backend = _backend()
    if backend is None:
        return None
    try:
        found = backend.get_password(_SERVICE, account)
    except Exception:
        return None
    return found if isinstance(found, str) else None


def _keyring_set(account: str, text: str) -> bool:
    backend = _backend()
    if backend is None:
        return False
    try:
        backend.set_password(_SERVICE, account, text)
    except Exception:
        return False
    return True


def _keyring_delete(account: str) -> None:
    backend = _backend()
    if backend is None:
        return
    try:
        backend.delete_password(_SERVICE, account)
    except Exception:
        return


def _log() -> Any:
    import logging

    return logging.getLogger("licentia.client")
