"""What a vendor publishes, written once: the developer API's body and the admin form's rules (``ReleaseCreate``).

The developer API takes it as its body (its 422 answers come from these
fields); the admin page builds it from the form with
``licenses.schemas.validated``, so a version or notes too long for their
columns are refused alike, before anything is written.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from licentia.server.fields import Slug, Strict


class ReleaseCreate(Strict):
    product: Slug
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")] = "stable"
    download_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    notes: Annotated[str, StringConstraints(max_length=20000)] | None = None
