"""The words every client compares are the core's, and the server answers exactly those words.

``ClientErrorCode``, ``EventKind`` and ``DeviceStatus`` (``licentia.core.vocabulary``) are
enumerated once: the Python SDK imports them, the TypeScript and C clients include the constants
``conformance/generate.py`` writes from them (test_vectors.py holds those files fresh). Here: each
client error code is one the server sends on the public API, and no client spells a word itself.
"""

from __future__ import annotations

from licentia.core.vocabulary import ClientErrorCode
from licentia.server.errors import Api, ErrorCode


def test_every_client_error_code_is_a_code_the_public_api_answers() -> None:
    for code in ClientErrorCode:
        server = ErrorCode.of(code.value)  # KeyError: the server no longer sends this word
        assert server == code and server.name == code.name, code
        assert server.apis & Api.PUBLIC, f"{code} is not answered to applications"
