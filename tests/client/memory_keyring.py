"""A keyring backend for tests, chosen through keyring's own mechanism (``keyring.set_keyring`` or
``PYTHON_KEYRING_BACKEND=tests.client.memory_keyring.FileKeyring``): it stands for the OS's credential
store (Windows Credential Locker, macOS Keychain, Secret Service), which this machine does not run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    """Entries in one JSON file named by ``LICENTIA_TEST_KEYRING`` (shared with child processes)."""

    priority = 1  # type: ignore[assignment]

    @property
    def file(self) -> Path:
        return Path(os.environ["LICENTIA_TEST_KEYRING"])

    def _entries(self) -> dict[str, str]:
        try:
            found = json.loads(self.file.read_text())
        except FileNotFoundError:
            return {}
        return found if isinstance(found, dict) else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._entries()
        entries[f"{service}\n{username}"] = password
        self.file.write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._entries()
        if entries.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("no such entry")
        self.file.write_text(json.dumps(entries))
