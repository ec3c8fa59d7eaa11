"""What a vendor asks of a webhook endpoint, defined once for the developer API, the CLI and the admin UI.

``WebhookSpec`` is a new endpoint, ``WebhookChange`` an edit. The developer API
takes them as its request bodies; the CLI and the admin pages build them with
``of()`` from what was typed; ``notify.webhooks`` takes them as they are.

Two kinds of refusal, as the developer API has always answered them:

- a value out of shape (a string too long, a list that is not one, a field
  that does not exist) is pydantic's own: 422 ``validation_error`` from the
  API naming every such field; from ``of()``, the refusal of its field's rule
  (``invalid_webhook_url``, ``invalid_description``);
- then, once every value has its shape, the rules with their own error code
  (the URL's scheme and host, the events) raise ``ApiError`` from the model's
  validator. Pydantic lets any error but ``ValueError`` through unchanged, so
  the API answers 400 with that code, and the CLI and the pages show its
  message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from licentia.server.errors import ApiError, ErrorCode
from licentia.server.notify.catalog import WebhookEvent

MAX_URL = 2000
MAX_DESCRIPTION = 200
URL_RULE = "a webhook URL starts with https:// (or http://) and names a host"
DESCRIPTION_RULE = f"a description is at most {MAX_DESCRIPTION} characters"


def _folded(text: str) -> str:
    return " ".join(text.split())


def _distinct(events: list[str]) -> list[str]:
    return sorted(set(events))


WebhookUrl = Annotated[str, Field(max_length=MAX_URL), AfterValidator(str.strip)]
Events = Annotated[list[str], AfterValidator(_distinct)]
# Spaces folded; "" clears an endpoint's description.
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION), AfterValidator(_folded)]


def _check_url(url: str | None) -> None:
    if url is None:
        return
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[x": a bracket that opens no IPv6 address
        usable = False
    if not usable:
        raise ApiError(ErrorCode.INVALID_WEBHOOK_URL, URL_RULE)


def _check_events(events: list[str] | None) -> None:
    unknown = sorted(set(events or ()) - set(WebhookEvent))
    if unknown:
        raise ApiError(
            ErrorCode.INVALID_WEBHOOK_TOPICS,
            f"unknown events {unknown}; choose from {[event.value for event in WebhookEvent]}",
        )


def _refusal(error: ErrorDetails) -> ApiError:
    """The refusal the CLI and the admin pages give for a value out of shape (the API answers it 422)."""
    field = ".".join(str(part) for part in error["loc"])
    if field == "url" and error["type"] == "string_too_long":  # a valid URL, only longer than the column holds
        return ApiError(ErrorCode.INVALID_WEBHOOK_URL, f"a webhook URL is at most {MAX_URL:,} characters")
    if field == "url":
        return ApiError(ErrorCode.INVALID_WEBHOOK_URL, URL_RULE)
    if field == "description":
        return ApiError(ErrorCode.INVALID_DESCRIPTION, DESCRIPTION_RULE)
    return ApiError(ErrorCode.VALIDATION_ERROR, f"{field or 'input'}: {error['msg']}")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    if TYPE_CHECKING:  # the fields, declared by each spec in its own order
        url: str | None
        events: list[str] | None

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check_url(self.url)
        _check_events(self.events)
        return self

    @classmethod
    def of(cls, **values: Any) -> Self:
        """From the CLI's arguments or a form's fields: the spec, or the ``ApiError`` refusing the first bad value."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _refusal(exc.errors()[0]) from exc


class WebhookSpec(_Input):
    """A new endpoint: where to send which events of which product."""

    url: WebhookUrl = Field(examples=["https://hooks.vendor.example/licentia"])
    events: Events = Field(default_factory=list, description="event names; empty: every event")
    product: str | None = Field(default=None, description="a product's slug; null: every product")
    description: Description | None = None


class WebhookChange(_Input):
    """An edit: the fields given change (``None``: unchanged, but ``product=None`` means every product)."""

    url: WebhookUrl | None = None
    events: Events | None = None
    product: str | None = Field(default=None, description="a product's slug; send null for every product")
    description: Description | None = None
    rotate_secret: bool = False

    @property
    def product_given(self) -> bool:
        return "product" in self.model_fields_set
