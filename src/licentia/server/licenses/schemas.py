"""What a vendor asks of licenses, written once: issuing one (:class:`LicenseOrder`) and changing its terms.

The developer API takes these models as its bodies (its 422 answers come from
the rules here); the CLI and the admin UI build them from their arguments
with :func:`validated`, which turns a refusal into the ``ApiError`` the
surface already shows. The services take the built object, so a field is
declared, bounded and passed in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.fields import Email, Feature, OrderRef, Slug, Strict
from licentia.server.stored_time import StoredTime

Source = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
PolicyName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CustomerName = Annotated[str, StringConstraints(max_length=200)]
# A license's own seat count (the ``max_devices`` knob allows more on a policy).
Seats = Annotated[int, Field(ge=1, le=36500)]
M = TypeVar("M", bound=BaseModel)


class Sale(Strict):
    """Who bought which product, and what the license grants beyond its type."""

    product: Slug
    email: Email
    name: CustomerName | None = None
    max_devices: Seats | None = None
    expires_at: StoredTime | None = None
    features: list[Feature] = Field(default_factory=list, max_length=50)


class LicenseOrder(Sale):
    """Issue a license: the customer is found or created by email; ``send_email`` queues the key to them."""

    order_ref: OrderRef | None = Field(default=None, description="Your order id; with `source`, unique.")
    source: Source = "manual"
    send_email: bool = Field(default=True, description="Queue the key to the customer by email (outbox).")
    policy: PolicyName | None = Field(
        default=None, description="The license type (a policy's name); the product's default when omitted."
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="Knobs of the policy set for this license.")


# Move a license to another license type, override or restore single knobs, change its maintenance end.
# (No docstring: it would become the description of the developer API's ``TermsChange`` schema.)
class TermsChange(Strict):
    policy: str | None = Field(default=None, max_length=64, description="Move the license to this license type.")
    set: dict[str, Any] = Field(default_factory=dict, description="Knobs to override for this license only.")
    unset: list[str] = Field(default_factory=list, max_length=50, description="Overrides to drop (back to the policy).")
    maintenance_until: dt.datetime | None = Field(default=None, description="A new end of updates (UTC).")
    maintenance_forever: bool = Field(default=False, description="Offer every release to this license.")


def refusal(exc: ValidationError) -> ApiError:
    """The first problem of ``exc`` as one ``ApiError`` (a CLI line, an error beside a form field).

    The fields the services checked before these models keep their code and wording
    (the admin forms place an error beside its field by the code).
    """
    first = exc.errors(include_url=False)[0]
    loc = [str(part) for part in first.get("loc", ())]
    field, value = (loc[0] if loc else ""), first.get("input")
    detail = f"{'.'.join(loc) or 'input'}: {first.get('msg', 'invalid')}"
    if field == "product":
        return ApiError(ErrorCode.UNKNOWN_PRODUCT, f"no product named {value!r}")
    if field == "email":
        return ApiError(ErrorCode.INVALID_EMAIL, f"{value!r} is not an email address")
    if field == "policy":
        return ApiError(ErrorCode.UNKNOWN_POLICY, f"no license type named {value!r}")
    if field == "max_devices":
        return ApiError(ErrorCode.INVALID_POLICY, detail)
    if field in ("expires_at", "maintenance_until"):
        return ApiError(ErrorCode.INVALID_DATE, detail)
    return ApiError(ErrorCode.VALIDATION_ERROR, detail, details={"field": field})


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``model`` built from what a CLI or a form gave, a refusal raised as :func:`refusal`'s ``ApiError``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc) from exc
