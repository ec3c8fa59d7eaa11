"""A stream sealed with a passphrase: Argon2id for the key, libsodium's secretstream for the data.

``SealedWriter`` encrypts what is written in 1 MiB chunks, each authenticated with
the file's header as additional data, and ends with a final tag; ``SealedReader``
refuses a wrong key, an edited chunk or header, a truncated stream and data after
its end. Used by ``store.backup`` for backups that hold the secret key.
"""

from __future__ import annotations

import io
import struct
from typing import Any, BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash

KDF = nacl.pwhash.argon2id
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why and what to do."""


class SealedWriter(io.RawIOBase):
    """Encrypts what is written, chunk by chunk; :meth:`finish` writes the final chunk."""

    def __init__(self, out: BinaryIO, key: bytes, header: bytes) -> None:
        self._out = out
        self._ad = header
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        out.write(sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key))
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= _CHUNK:
            self._push(bytes(self._buffer[:_CHUNK]), sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
            del self._buffer[:_CHUNK]
        return len(data)

    def _push(self, chunk: bytes, tag: int) -> None:
        sealed = sodium.crypto_secretstream_xchacha20poly1305_push(self._state, chunk, self._ad, tag)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)

    def finish(self) -> None:
        self._push(bytes(self._buffer), sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        self._buffer.clear()


class SealedReader(io.RawIOBase):
    """Decrypts chunk by chunk; a wrong passphrase, an edit or a truncation raises BackupError."""

    def __init__(self, source: BinaryIO, key: bytes, header: bytes) -> None:
        self._source = source
        self._ad = header
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        stream_header = source.read(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES)
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._state, stream_header, key)
        except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
            raise BackupError("not a Licentia backup, or a damaged one") from exc
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._plain and not self._done:
            self._pull()
        n = min(len(target), len(self._plain))
        target[:n] = self._plain[:n]
        self._plain = self._plain[n:]
        return n

    def _pull(self) -> None:
        size = self._source.read(4)
        if len(size) != 4:
            raise BackupError("the backup is truncated (its final part is missing)")
        (length,) = struct.unpack(">I", size)
        if length > _CHUNK + sodium.crypto_secretstream_xchacha20poly1305_ABYTES:
            raise BackupError("the backup is damaged")
        sealed = self._source.read(length)
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(self._state, sealed, self._ad)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise BackupError("wrong passphrase, or the backup was changed or damaged") from exc
        self._plain = plain
        if tag == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            self._done = True
            if self._source.read(1):
                raise BackupError("the backup has data after its final part")


def derive_key(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return KDF.kdf(
        sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES,
        passphrase.encode(),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
