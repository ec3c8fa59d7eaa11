"""Request bodies of the device endpoints. Unknown fields are ignored, never trusted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from licentia.server.events.payloads import FactValue

HexHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
# The client's fresh random value, signed back into the answer (docs/web-api.md, "answers bound to the request").
Nonce = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
MAX_FACTS = 40


class Fingerprint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    components: dict[Literal["machine", "disk", "cpu", "mac"], HexHash] = Field(default_factory=dict)
    data_path: HexHash | None = None
    virtual: bool = False


class CheckRequest(BaseModel):
    """A status check. Whatever a client says of its own status is ignored (no such field exists)."""

    model_config = ConfigDict(extra="ignore")

    product: Slug
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="A caller-chosen device id, for web-API integrations without the SDK."
    )
    fingerprint: Fingerprint | None = None
    token: Annotated[str, StringConstraints(max_length=100)] | None = None
    app_version: Annotated[str, StringConstraints(max_length=64)] | None = None
    os: ShortText | None = None
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,32}$")] = "stable"
    facts: dict[Annotated[str, StringConstraints(max_length=64)], FactValue] = Field(default_factory=dict)
    resumed: bool = Field(
        default=False,
        description="The client resumes this installation with its credential kept outside the data folder "
        "(its data folder was deleted): a reinstall, answered on a new token chain.",
    )
    installer_ticket: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None,
        description="At first contact: the text of the installer ticket (licentia-ticket.json) the installation "
        "came with; a forged or edited one is refused with invalid_installer_ticket.",
    )
    nonce: Nonce | None = Field(
        default=None,
        description="A fresh random value (16-128 base64url characters); the signed answer carries it back.",
    )

    @field_validator("facts")
    @classmethod
    def _few_facts(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_FACTS:
            raise ValueError(f"at most {MAX_FACTS} facts")
        return value


class ActivateRequest(CheckRequest):
    key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
