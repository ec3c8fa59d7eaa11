"""Online answers bound to their request (the rules are ``licentia.core.answers``'s).

Every online call that answers a signed document sends a fresh nonce; the
answer is taken only if its verified document carries that nonce and names the
installation (and machine) that asked. Imported by the online path only.
"""

from __future__ import annotations

from licentia.client._exceptions import InvalidAnswer
from licentia.core.answers import refusal
from licentia.core.signing import InvalidDocument, verify_document

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from licentia.client.state import State
    from licentia.core.ed25519 import VerifyingKey


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
