"""License-gated download links: signed, short-lived, bound to one license, release and customer.

A link is a Fernet token (authenticated encryption with its own timestamp)
under a key derived from the server's secret key with HKDF for this purpose
only, so a download token can never be mistaken for anything else the secret
protects. It lives ``portal_download_minutes``; the entitlement is checked
again when it is used (a license revoked in between downloads nothing).

A release's ``download_url`` is either a URL (the link redirects there) or
``stored:<path>``, a file under ``<data_dir>/releases/`` that the server
serves itself (then the file is reachable only through a valid link).

Every download carries its own installer ticket (``tickets/``): a stored
release is served as a zip of the installer and ``licentia-ticket.json``
beside it (the installer itself is never re-signed: most vendors sign it once,
and a per-download signature is out of their reach); a release kept elsewhere
is redirected to, and its ticket is a second download beside it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from licentia.server.settings import Settings
from licentia.server.tickets.service import TICKET_FILE

STORED_PREFIX = "stored:"
_PURPOSE = b"licentia portal download link v1"


class DownloadRefused(Exception):
    """The link is forged, altered or expired."""


@dataclass(frozen=True)
class DownloadGrant:
    license_id: int
    release_id: int
    email: str


def download_secret(settings: Settings) -> bytes:
    """The server's secret key (shared by every worker), from which the link key is derived."""
    settings.fernet()  # creates <data_dir>/secret.key on first use
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    return (settings.data_dir / "secret.key").read_bytes().strip()


def _box(secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def sign_download(secret: bytes, grant: DownloadGrant, *, now: dt.datetime) -> str:
    body = json.dumps({"l": grant.license_id, "r": grant.release_id, "e": grant.email}).encode()
    return _box(secret).encrypt_at_time(body, int(now.timestamp())).decode()


def verify_download(secret: bytes, unverified_token: str, *, now: dt.datetime, ttl: dt.timedelta) -> DownloadGrant:
    try:
        body = _box(secret).decrypt_at_time(unverified_token.encode(), int(ttl.total_seconds()), int(now.timestamp()))
        data = json.loads(body)
        return DownloadGrant(int(data["l"]), int(data["r"]), str(data["e"]))
    except (InvalidToken, ValueError, KeyError, TypeError) as exc:
        raise DownloadRefused("this download link is invalid or has expired") from exc


def stored_file(data_dir: Path, download_url: str) -> Path | None:
    """The file a ``stored:`` release names, if it stays inside ``<data_dir>/releases``."""
    if not download_url.startswith(STORED_PREFIX):
        return None
    root = (data_dir / "releases").resolve()
    path = (root / download_url[len(STORED_PREFIX) :].lstrip("/")).resolve()
    # Threat: "stored:../secret.key" would hand out the server's own key file.
    if root not in path.parents or not path.is_file():
        raise DownloadRefused("the release's file is missing on the server")
    return path


def bundle_with_ticket(installer: Path, ticket: bytes) -> Path:
    """A zip of the installer and its ticket beside it, in a temporary file (the response deletes it)."""
    # Stored, not deflated: an installer is compressed already, and this runs on every download.
    with (
        tempfile.NamedTemporaryFile(prefix="licentia-download-", suffix=".zip", delete=False) as handle,
        zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as bundle,
    ):
        bundle.write(installer, installer.name)
        bundle.writestr(TICKET_FILE, ticket)
    return Path(handle.name)
