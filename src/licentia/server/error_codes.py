"""Every error code the server answers, enumerated once: its HTTP status, where it is answered, what it means.

``errors`` raises and answers them (:class:`~licentia.server.errors.ApiError`);
this module is only the table, so a new code is one entry here.
"""

from __future__ import annotations

import enum


class Api(enum.Flag):
    """Where a code is answered: the public API (applications), the developer API, the admin UI and CLI."""

    PUBLIC = enum.auto()
    DEVELOPER = enum.auto()
    ADMIN = enum.auto()
    EVERY = PUBLIC | DEVELOPER | ADMIN


_P, _D, _A, _ALL = Api.PUBLIC, Api.DEVELOPER, Api.ADMIN, Api.EVERY


class ErrorCode(enum.StrEnum):
    """An error's stable code, its HTTP status, where it is answered, and what it means."""

    status: int
    apis: Api
    meaning: str

    def __new__(cls, value: str, status: int, apis: Api, meaning: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.apis = apis
        member.meaning = meaning
        return member

    @classmethod
    def of(cls, value: str) -> ErrorCode:
        """The member whose code is ``value`` (``KeyError`` if none is)."""
        return _BY_VALUE[value]

    # Any request
    BAD_REQUEST = "bad_request", 400, _ALL, "the request is not one this endpoint takes"
    MALFORMED_JSON = "malformed_json", 400, _ALL, "the body is not valid JSON"
    VALIDATION_ERROR = "validation_error", 422, _ALL, "a field is missing, of the wrong type or out of range"
    NOT_FOUND = "not_found", 404, _ALL, "no such endpoint"
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, _ALL, "the endpoint does not take this HTTP method"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, _ALL, "the body is not in a format the endpoint reads"
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, _ALL, "the body is larger than LICENTIA_MAX_BODY_BYTES"
    UNSUPPORTED_PROTOCOL = "unsupported_protocol", 400, _ALL, "Licentia-Protocol names a protocol not spoken here"
    UNAUTHORIZED = "unauthorized", 401, _ALL, "the request needs credentials it did not carry"
    FORBIDDEN = "forbidden", 403, _ALL, "the request is not allowed"
    RATE_LIMITED = (
        "rate_limited",
        429,
        _ALL,
        "too many failed attempts (from this machine, or this network): retry after Retry-After",
    )
    STORE_UNAVAILABLE = "store_unavailable", 503, _ALL, "the database is busy or unreachable: retry after Retry-After"
    NOT_READY = "not_ready", 503, _ALL, "GET /readyz: the database does not answer or lacks a migration this code needs"
    INTERNAL_ERROR = "internal_error", 500, _ALL, "a fault of the server's (logged); never an answer to bad input"
    HTTP_ERROR = "http_error", 400, _ALL, "another HTTP error, with the status it names"
    # Products, devices (installations) and their credentials
    UNKNOWN_PRODUCT = "unknown_product", 404, _ALL, "no product has this slug"
    UNKNOWN_DEVICE = "unknown_device", 404, _D | _A, "no device (installation) has this id"
    DEVICE_CREDENTIAL_REQUIRED = (
        "device_credential_required", 401, _P,
        "this device is known: send its credential (Authorization: Device ID:SECRET)",
    )  # fmt: skip
    INVALID_CREDENTIAL = "invalid_credential", 401, _P, "the device credential is wrong, or names another device"
    INVALID_INSTALLER_TICKET = "invalid_installer_ticket", 422, _P, "the installer ticket is forged or was edited"
    TRAIL_OFF = "trail_off", 404, _P, "GET /v1/trail: no product with this slug keeps a proxy-log trail"
    INVALID_TRAIL = (
        "invalid_trail", 422, _P,
        "GET /v1/trail: the query names an unknown field, repeats one, or a value is not one the trail takes",
    )  # fmt: skip
    OTHER_MACHINE = (
        "other_machine", 409, _P,
        "POST /v1/move: the hardware is another computer's; a move stays on the installation's machine",
    )  # fmt: skip
    # License keys and seats
    INVALID_KEY = "invalid_key", 400, _ALL, "not a license key this product issued (typo, or a generated key)"
    LICENSE_SUSPENDED = "license_suspended", 403, _ALL, "the license is suspended by the vendor"
    LICENSE_REVOKED = (
        "license_revoked", 403, _ALL,
        "the license was revoked: it activates nothing, and its state never changes again (409 there)",
    )  # fmt: skip
    LICENSE_EXPIRED = "license_expired", 403, _ALL, "the license has expired"
    TOO_MANY_DEVICES = "too_many_devices", 403, _ALL, "every seat of the license is taken by other machines"
    MACHINE_RESTRICTED = "machine_restricted", 403, _ALL, "the vendor blocked or suspended this machine"
    VIRTUAL_MACHINE_NOT_ALLOWED = (
        "virtual_machine_not_allowed", 403, _ALL, "the product's policy refuses licenses on virtual machines"
    )  # fmt: skip
    TRANSFER_LIMIT = (
        "transfer_limit", 409, _ALL,
        "the license moved to other machines as often as its type allows in the period: "
        "`next_transfer_at` (and Retry-After) says when it may move again; a machine that held it may take it back",
    )  # fmt: skip
    ORDER_REF_IN_USE = (
        "order_ref_in_use", 409, _D | _A, "the order reference already names a purchase (from the same source)"
    )  # fmt: skip
    NO_LICENSE = "no_license", 409, _D | _A, "the device holds no license seat (activate a key to register it)"
    UNKNOWN_LICENSE = "unknown_license", 404, _D | _A, "no license has this id"
    AMBIGUOUS_LICENSE = "ambiguous_license", 409, _D | _A, "several licenses match this key prefix: give the id"
    INVALID_REFERENCE = (
        "invalid_reference", 400, _D | _A, "give a license id, a full key or 3+ characters of its prefix"
    )  # fmt: skip
    # Named users (license types whose seats are users) and the device sign-in (RFC 8628)
    USER_LICENSE = (
        "user_license", 409, _P,
        "the license's seats are named users: sign the user in (POST /v1/device/authorize), not activate the key",
    )  # fmt: skip
    NOT_USER_LICENSE = "not_user_license", 409, _D | _A, "the license's seats are machines, not named users"
    NO_USER_SEAT = "no_user_seat", 409, _ALL, "every user seat of the license is held by other people"
    TOO_MANY_USER_MACHINES = (
        "too_many_user_machines", 409, _ALL,
        "the user already holds their seat on as many machines as the license type allows (machines_per_user)",
    )  # fmt: skip
    NO_USER_LICENSE = (
        "no_user_license", 403, _P | _A, "the person holds no license of this product whose seats are named users"
    )  # fmt: skip
    UNKNOWN_USER = "unknown_user", 404, _D | _A, "no one holds a seat of this license under this email"
    INVALID_USER_CODE = "invalid_user_code", 400, _A, "the sign-in code is mistyped, unknown, expired or used"
    AUTHORIZATION_PENDING = (
        "authorization_pending", 400, _P, "the person has not confirmed the sign-in code yet: poll again after interval"
    )  # fmt: skip
    SLOW_DOWN = "slow_down", 400, _P, "polled sooner than the interval: wait 5 seconds more between polls from now on"
    ACCESS_DENIED = "access_denied", 400, _P, "the person refused the sign-in in the portal"
    EXPIRED_TOKEN = "expired_token", 400, _P, "the device code expired before the person confirmed it: ask a new one"
    INVALID_GRANT = (
        "invalid_grant", 400, _P, "the device code is unknown, already used, or another installation's"
    )  # fmt: skip
    # Floating licenses: leases and borrowing
    NOT_FLOATING = "not_floating", 409, _P, "the license is node-locked: activate it instead of checking out a lease"
    FLOATING_LICENSE = (
        "floating_license", 409, _P, "the license is floating: check out a lease (POST /v1/leases), not an activation"
    )  # fmt: skip
    NO_SEAT_AVAILABLE = (
        "no_seat_available", 409, _P,
        "every floating seat is leased by other machines: Retry-After says when the next lease ends",
    )  # fmt: skip
    LEASE_EXPIRED = (
        "lease_expired", 410, _P,
        "the lease ended (expired without a heartbeat, released, or freed by the vendor): check out again",
    )  # fmt: skip
    UNKNOWN_LEASE = "unknown_lease", 404, _P | _D | _A, "no lease of this installation (or license) has this id"
    BORROW_NOT_ALLOWED = (
        "borrow_not_allowed", 422, _P, "borrow_days is beyond what the license type allows (its borrow_days; 0: none)"
    )  # fmt: skip
    # Values, releases
    NOT_REGISTERED = "not_registered", 403, _P, "license values need a device activated on a license"
    UNKNOWN_VALUE = "unknown_value", 404, _P, "no value is saved under this key"
    VALUE_TOO_LARGE = "value_too_large", 413, _P, "a value is at most 4 KB of JSON"
    TOO_MANY_VALUES = "too_many_values", 409, _P, "at most 100 values per device or license"
    INVALID_VERSION = "invalid_version", 400, _ALL, "not a version number (PEP 440 or semver)"
    INVALID_CHANNEL = "invalid_channel", 400, _D | _A, "a release channel is 1-32 lowercase letters, digits or dashes"
    INVALID_URL = "invalid_url", 400, _D | _A, "a download URL must be http(s)"
    RELEASE_EXISTS = "release_exists", 409, _D | _A, "this version is already released on this channel"
    UNKNOWN_RELEASE = "unknown_release", 404, _D | _A, "no release of this product has this version"
    UNKNOWN_CUSTOMER = "unknown_customer", 404, _D | _A, "no customer has this id"
    # Changes made by the vendor
    INVALID_EMAIL = "invalid_email", 400, _D | _A, "not an email address"
    INVALID_EXPIRY = "invalid_expiry", 400, _D | _A, "the expiry is in the past, or not a date"
    INVALID_DAYS = "invalid_days", 400, _D | _A, "a number of days out of range"
    INVALID_RENEWAL = "invalid_renewal", 422, _D, "a renewal names either days or an expiry date, not both"
    INVALID_STATUS = "invalid_status", 400, _D | _A, "not a device status the vendor can set"
    INVALID_ACTION = "invalid_action", 400, _D | _A, "not a license action (suspend, revoke, reinstate)"
    INVALID_STATE = "invalid_state", 400, _D | _A, "not a license state"
    INVALID_CURSOR = "invalid_cursor", 400, _D, "the page cursor was not made by this server"
    INVALID_POLICY = (
        "invalid_policy",
        422,
        _D | _A,
        "a license type's knob that does not exist, or a value out of range (the message names it)",
    )
    UNKNOWN_POLICY = "unknown_policy", 404, _D | _A, "the product has no license type (policy) of this name"
    POLICY_EXISTS = "policy_exists", 409, _D | _A, "the product already has a license type of this name"
    TOO_MANY_POLICIES = "too_many_policies", 409, _D | _A, "a product has at most 200 license types"
    INVALID_SLUG = "invalid_slug", 400, _A, "a product slug is lowercase letters, digits and dashes (1-63)"
    PRODUCT_EXISTS = "product_exists", 409, _A, "a product already has this slug"
    INVALID_RETENTION = "invalid_retention", 400, _A, "fact retention is a whole number of days in range"
    INVALID_WEBHOOK_URL = "invalid_webhook_url", 400, _D | _A, "a webhook URL must be http(s)"
    INVALID_WEBHOOK_TOPICS = "invalid_webhook_topics", 400, _D | _A, "a webhook event that does not exist"
    INVALID_NUMBER = "invalid_number", 400, _A, "a form field that must be a whole number"
    INVALID_NOTE = "invalid_note", 400, _D | _A, "a case note is 1 to 2,000 characters of text"
    INVALID_DATE = "invalid_date", 400, _D | _A, "a date field that is not a date (YYYY-MM-DD, with a zone in the API)"
    # Admin accounts and API tokens
    ADMIN_EXISTS = "admin_exists", 409, _A, "an admin already has this email"
    UNKNOWN_ADMIN = "unknown_admin", 404, _A, "no admin has this email"
    WEAK_PASSWORD = "weak_password", 400, _A, "a password of at least 10 characters is needed"
    MISSING_TOKEN = "missing_token", 401, _D, "the request carries no Authorization: Bearer token"
    INVALID_TOKEN = "invalid_token", 401, _D, "the API token is unknown, wrong or revoked"
    INSUFFICIENT_SCOPE = "insufficient_scope", 403, _D, "the API token lacks the scope this call needs"
    INVALID_NAME = "invalid_name", 400, _A, "an API token needs a name of 1-200 characters"
    INVALID_SCOPE = "invalid_scope", 400, _A, "API token scopes are read and write"
    UNKNOWN_TOKEN = "unknown_token", 404, _A, "no active API token has this id"
    # Webhook endpoints, admin roles and the second factor
    UNKNOWN_WEBHOOK = "unknown_webhook", 404, _D | _A, "no webhook endpoint has this id"
    UNKNOWN_DELIVERY = "unknown_delivery", 404, _D | _A, "this webhook endpoint has no delivery with this id"
    INVALID_DESCRIPTION = "invalid_description", 400, _D | _A, "a webhook description is at most 200 characters"
    ROLE_FORBIDDEN = "role_forbidden", 403, _D | _A, "the admin's role does not allow this change"
    INVALID_ROLE = "invalid_role", 400, _A, "an admin role is owner, staff or viewer"
    LAST_OWNER = "last_owner", 409, _A, "the last active owner cannot be demoted, disabled or removed"
    INVALID_TOTP_CODE = "invalid_totp_code", 400, _A, "the one-time code is wrong or was already used"
    TOTP_NOT_ENROLLED = "totp_not_enrolled", 409, _A, "the admin has no second factor to reset"
    # Single sign-on connections
    INVALID_SSO_CONNECTION = "invalid_sso_connection", 400, _D | _A, "a single sign-on connection's field is not valid"
    UNKNOWN_SSO_CONNECTION = "unknown_sso_connection", 404, _D | _A, "no single sign-on connection has this id"
    # The payment webhooks (``/v1/hooks/payment`` and the providers' ``/v1/hooks/{stripe,paddle,fastspring}``)
    WEBHOOK_NOT_CONFIGURED = (
        "webhook_not_configured", 503, _D, "the webhook's signing secret (LICENTIA_*_WEBHOOK_SECRET) is not set"
    )  # fmt: skip
    INVALID_SIGNATURE = "invalid_signature", 401, _D, "the webhook's signature does not match its body"
    STALE_SIGNATURE = "stale_signature", 401, _D, "the webhook's signature is too old (a replay?)"
    INVALID_EVENT = "invalid_event", 400, _D, "a correctly signed delivery that is not the provider's event shape"
    PROVIDER_UNAVAILABLE = (
        "provider_unavailable", 503, _D, "the provider's API did not answer a needed look-up: the provider retries"
    )  # fmt: skip
    # Payment mappings (provider price or product id -> product and license type)
    INVALID_PROVIDER = "invalid_provider", 400, _D | _A, "a payment provider is stripe, paddle or fastspring"
    INVALID_EXTERNAL_ID = "invalid_external_id", 400, _D | _A, "a provider's id is 1-200 characters, no spaces"
    INVALID_ON_REFUND = "invalid_on_refund", 400, _D | _A, "what a refund does is suspend or revoke"
    MAPPING_EXISTS = "mapping_exists", 409, _D | _A, "this provider id is already mapped"
    UNKNOWN_MAPPING = "unknown_mapping", 404, _D | _A, "no payment mapping has this id"
    # The customer portal
    UNKNOWN_MACHINE = "unknown_machine", 404, _D | _A, "no such machine (the portal: of this license's seats)"
    REASON_REQUIRED = "reason_required", 400, _A, "freeing a seat needs a reason (it goes to the audit log)"
    NOT_ENTITLED = "not_entitled", 403, _A, "the license does not entitle to this release"
    # Air-gapped (offline) activation: the vendor or the customer turns a machine's files into seats
    INVALID_OFFLINE_REQUEST = (
        "invalid_offline_request", 400, _D | _A,
        "not a genuine activation request of this product (damaged, edited, or another kind of file)",
    )  # fmt: skip
    OFFLINE_REQUEST_USED = (
        "offline_request_used", 409, _D | _A, "this activation request was answered already: write a new one"
    )  # fmt: skip
    OFFLINE_REQUEST_EXPIRED = (
        "offline_request_expired", 400, _D | _A, "the activation request is too old (or dated ahead): write a new one"
    )  # fmt: skip
    INVALID_OFFLINE_PROOF = (
        "invalid_offline_proof", 400, _D | _A,
        "not a genuine deactivation proof (damaged, edited, or not signed by the activated machine)",
    )  # fmt: skip
    OFFLINE_PROOF_USED = "offline_proof_used", 409, _D | _A, "this offline activation was deactivated already"
    UNKNOWN_OFFLINE_ACTIVATION = (
        "unknown_offline_activation", 404, _D | _A, "no offline activation of this product matches the proof"
    )  # fmt: skip
    OFFLINE_LEASE_ACTIVE = (
        "offline_lease_active", 409, _A,
        "the portal: a computer activated offline frees its seat with its deactivation proof, not here",
    )  # fmt: skip
    FOREIGN_LICENSE = (
        "foreign_license", 403, _A, "the portal: the request's license key is not one of the signed-in customer's"
    )  # fmt: skip
    # Metered use (POST /v1/consume) and license usage
    QUOTA_EXCEEDED = (
        "quota_exceeded", 409, _P,
        "the meter's limit for the period would be passed: nothing was counted (the answer carries the figures)",
    )  # fmt: skip
    UNKNOWN_METER = "unknown_meter", 404, _P, "the license's type defines no meter of this name"
    IDEMPOTENCY_KEY_REUSED = (
        "idempotency_key_reused", 409, _P, "this idempotency key already counted another meter or amount"
    )  # fmt: skip
    STALE_TOKEN = (
        "stale_token", 401, _P,
        "the call needs the installation's current rotating token (check first): a copied state consumes nothing",
    )  # fmt: skip
    NO_PURCHASE_CERTIFICATE = (
        "no_purchase_certificate", 404, _D | _A, "the license has no customer, so no purchase certificate"
    )  # fmt: skip
    # The admin UI's customer and license pages: "Resend key"
    KEY_NOT_KEPT = (
        "key_not_kept", 409, _A,
        "the license was issued before keys were kept and its key email was sent: reissue to give the customer a key",
    )  # fmt: skip
    KEY_SEAL_BROKEN = (
        "key_seal_broken", 409, _A,
        "the kept key was sealed with another LICENTIA_SECRET_KEY than this server's: put that key back to resend it",
    )  # fmt: skip
    # Organisations: members, roles and invitations (developer API, CLI, admin UI and the portal)
    UNKNOWN_ORGANISATION = "unknown_organisation", 404, _D | _A, "no organisation has this id (or it is not yours)"
    UNKNOWN_MEMBER = "unknown_member", 404, _D | _A, "the organisation has no member or invitation of this address"
    ALREADY_MEMBER = "already_member", 409, _D | _A, "the address is already a member of the organisation"
    LAST_ORGANISATION_OWNER = (
        "last_organisation_owner", 409, _D | _A, "an organisation keeps an owner: name another before this change"
    )  # fmt: skip
    ORGANISATION_ROLE_FORBIDDEN = (
        "organisation_role_forbidden", 403, _D | _A,
        "the member's role does not allow this (members manage nothing; admins do not change owners)",
    )  # fmt: skip
    INVALID_ORGANISATION_ROLE = "invalid_organisation_role", 400, _D | _A, "a member's role is owner, admin or member"
    INVITATION_INVALID = (
        "invitation_invalid", 410, _A, "the invitation is unknown, was already used, was withdrawn or has expired"
    )  # fmt: skip
    INVITATION_OTHER_ADDRESS = (
        "invitation_other_address", 403, _A, "the invitation is for another address than the one signed in"
    )  # fmt: skip


_BY_VALUE: dict[str, ErrorCode] = {code.value: code for code in ErrorCode}
