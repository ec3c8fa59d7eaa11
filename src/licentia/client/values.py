"""The server's small value store, per device or per license: ``lic.values.get/set``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from licentia.client._exceptions import ServerRefused
from licentia.core.vocabulary import ClientErrorCode

if TYPE_CHECKING:
    from licentia.client._client import Licentia

Scope = Literal["device", "license"]


class Values:
    """Read and write JSON values saved on the server for this device (or its license)."""

    def __init__(self, owner: Licentia) -> None:
        self._owner = owner

    def _path(self, key: str) -> str:
        import urllib.parse  # here: an offline start never needs it

        return "/v1/values/" + urllib.parse.quote(key, safe="")

    def get(self, key: str, default: Any = None, *, scope: Scope = "device") -> Any:
        credential = self._owner.credential()
        try:
            answer = self._owner.transport.request(
                "GET", self._path(key), credential=credential, query={"scope": scope}
            )
        except ServerRefused as exc:
            if exc.code == ClientErrorCode.UNKNOWN_VALUE:
                return default
            raise
        return answer.get("value", default) if isinstance(answer, dict) else default

    def set(self, key: str, value: Any, *, scope: Scope = "device") -> None:
        credential = self._owner.credential()
        self._owner.transport.request(
            "PUT", self._path(key), body={"value": value}, credential=credential, query={"scope": scope}
        )
