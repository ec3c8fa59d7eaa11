"""The air-gapped calls of :class:`~licentia.client.Licentia`, its base class.

Kept apart and tiny: every application start imports this module, and only
the application that activates offline loads the logic
(``offline_activation.py``) and its crypto.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported: it would cost every application's start
if TYPE_CHECKING:
    from licentia.client._client import Licentia
    from licentia.client.status import Status


class AirGapped:
    def activation_request(self, key: str) -> str:
        """Step 1: the text of a request for license ``key``, to carry to the vendor (a typo raises ``InvalidKey``)."""
        from licentia.client.offline_activation import write_request

        return write_request(_licentia(self), key)

    def install_activation(self, response: str | bytes) -> Status:
        """Step 3: install the vendor's response to one of this installation's requests (else ``InvalidAnswer``)."""
        from licentia.client.offline_activation import install_response

        return install_response(_licentia(self), response)

    def deactivate_offline(self) -> str:
        """End the air-gapped activation here; returns the proof the vendor uploads to free the seat."""
        from licentia.client.offline_activation import write_proof

        return write_proof(_licentia(self))


def _licentia(mixin: object) -> Licentia:
    """``typing.cast``, without importing typing: this class is a base of ``Licentia`` only."""
    return mixin  # type: ignore[return-value]
