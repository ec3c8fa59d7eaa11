"""Online answers bound to their request (the rules are ``licentia.core.answers``'s).

Every online call that answers a signed document sends a fresh nonce; the
answer is taken only if its verified document carries that nonce and names the
installation (and machine) that asked. Imported by the online path only.
"""

from __future__ import annotations

from licentia.client._exceptions import InvalidAnswer
from licentia.client.status import credential_of, is_token, status_of, verify_for_installation
from licentia.client.witnesses import parse_time, seen, settle_witnesses
from licentia.core.answers import clock_offset, refusal
from licentia.core.clock import from_iso, to_iso
from licentia.core.signing import InvalidDocument, verify_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from licentia.client._client import Licentia
    from licentia.client.fingerprint import Fingerprint
    from licentia.client.state import State
    from licentia.client.status import Status
    from licentia.core.ed25519 import VerifyingKey


def accept(lic: Licentia, answer: Any, asked: Asked, state: State, fingerprint: Fingerprint) -> Status:
    """Verify the server's answer and that it answers this request, before anything of it is stored.

    Unknown fields (fields of later servers) are carried as signed and
    ignored; nothing outside the signed document is trusted but the
    credential, which only the server can check. A genuine answer of
    another time, another request or another installation (a fake server
    replaying what it saved) is refused: :class:`InvalidAnswer`.
    """
    received = lic.clock.now()
    if not isinstance(answer, dict) or not isinstance(answer.get("signed"), dict):
        raise InvalidAnswer("the server's answer carries no signed document")
    unverified_signed: dict[str, Any] = answer["signed"]
    try:
        payload = verify_for_installation(
            unverified_signed, lic.keys, product=lic.product, fingerprint=fingerprint, at_time=None
        )
        issued = from_iso(str(payload["issued_at"]))
    except (InvalidDocument, KeyError, ValueError, OverflowError) as exc:
        raise InvalidAnswer(f"the server's answer does not verify: {exc}") from exc
    credential = credential_of(answer, payload)
    asked.bind(payload, credential, lic.keys, lic.product)
    if credential is not None and credential != state.credential:
        # Always kept when one comes (a re-identified device's old secret is void).
        state.credential, state.escrowed = credential, False
    if state.credential is not None and not state.escrowed:
        # Escrowed outside the data folder, so that a reinstall resumes this installation: a new
        # credential, and once the credential of an installation made before the escrow existed.
        lic.escrow.save(state.credential)
        state.escrowed = True  # tried once: a store that cannot be written is not retried at every check
    token = payload.get("token")
    if is_token(token):
        state.token = token  # None means "suspected copy": keep the old one
    state.signed = unverified_signed
    # The answer is fresh (it carries this request's nonce): its time is the server's now.
    # Offline, trials and leases are judged on the local clock plus this offset, and the
    # clock's rollback against local times only, so a clock constantly off works offline too.
    state.clock_offset = clock_offset(issued, received)
    state.last_seen = to_iso(seen(parse_time(state.last_seen), received, answered=True))
    saved = lic._save(state)
    settle_witnesses(lic._witness_paths, received, lic.rollback_tolerance, state.file_clock_skew)
    # Judged at the server's time: a wrong local clock does not change what the server said.
    return status_of(payload, issued, online=True, unsaved=not saved)


def new_nonce() -> str:
    """16 random bytes from the OS, unpadded base64url (22 characters): what a request sends as ``nonce``."""
    import base64
    import os

    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


class Asked:
    """What one online request asked: its fresh nonce, and the installation it spoke for."""

    __slots__ = ("_known", "device", "nonce")

    def __init__(self, state: State) -> None:
        self.nonce = new_nonce()
        self.device = state.credential[0] if state.credential is not None else None
        self._known = state.signed  # the installation's last document, unverified

    def bind(
        self,
        payload: Mapping[str, Any],
        credential: tuple[str, str] | None,
        keys: Mapping[str, VerifyingKey],
        product: str,
    ) -> None:
        """Refuse (:class:`InvalidAnswer`) a verified answer that is not the answer to this request.

        ``credential``: the new credential the answer carries for the device its
        document names, if any (``status.credential_of``).
        """
        why = refusal(
            payload,
            nonce=self.nonce,
            device=self.device,
            machine=self._machine(keys, product),
            credential_device=credential[0] if credential is not None else None,
        )
        if why is not None:
            raise InvalidAnswer(f"the server's answer is not the answer to this request ({why})")

    def _machine(self, keys: Mapping[str, VerifyingKey], product: str) -> str | None:
        """The machine of the installation's last verified document (an installation never changes machine)."""
        if self.device is None or self._known is None:
            return None
        try:
            known = verify_document(self._known, keys, product=product)
        except InvalidDocument:
            return None
        machine = known.get("machine")
        return machine if known.get("device") == self.device and isinstance(machine, str) else None
