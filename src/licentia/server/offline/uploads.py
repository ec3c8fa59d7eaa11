"""The machine's file from an admin or portal form: uploaded, or pasted into the form's text box."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.datastructures import UploadFile

from licentia.core.airgap import MAX_FILE_CHARS


async def uploaded_text(
    request: Request, field: str, checked: Callable[[], Awaitable[dict[str, str]]]
) -> tuple[str, dict[str, str]]:
    """The file posted as ``field`` (else the text in ``<field>_text``) and the form's other fields.

    ``checked()`` is the page's CSRF check (it raises when the token does not
    match). The form is closed whatever happens: its spooled upload files must
    not wait for the garbage collector.
    """
    form = await request.form()
    try:
        fields = await checked()  # the same form: Starlette parses it once per request
        value = form.get(field)
        text = ""
        if isinstance(value, UploadFile):
            text = (await value.read(MAX_FILE_CHARS + 1)).decode("ascii", "replace")
        if not text.strip():
            text = fields.get(f"{field}_text", "")
        return text, fields
    finally:
        await form.close()
