"""The audit log: every change made in the UI, the CLI or the developer API, with who and when.

Every action is enumerated once (:class:`AuditAction`), each with the sentence
it reads as (:data:`SENTENCES`). The values are the strings stored in
``audit_entries.action``: renaming one would orphan the entries already written.
A sentence names things through :class:`Words`, so the admin page links and
escapes them (``admin/audit/sentences.py``) while the docs print them plainly.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from licentia.server import audit_organisations as org
from licentia.server import audit_people as people
from licentia.server.audit_words import Sentence, Words, counted, listed, shown
from licentia.server.store.tables import audit_entries

__all__ = ["SENTENCES", "AuditAction", "AuditTarget", "Sentence", "Words", "counted", "listed", "record", "shown"]


class AuditTarget(enum.StrEnum):
    """What an entry's ``target_id`` is the id of (``audit_entries.target_type``)."""

    ADMIN = "admin"
    API_TOKEN = "api_token"  # noqa: S105
    CASE_NOTE = "case_note"
    CUSTOMER = "customer"  # by email
    LICENSE = "license"
    MACHINE = "machine"
    ORGANISATION = "organisation"
    PAYMENT_MAPPING = "payment_mapping"
    PRODUCT = "product"  # by id, or by slug (keys.rotate, demo.fill from the CLI)
    RELEASE = "release"
    SSO_CONNECTION = "sso_connection"
    STORE = "store"  # the database's name
    WEBHOOK = "webhook"


class AuditAction(enum.StrEnum):
    """What a person (or the payment webhook, or the server itself) did, and what its target id names."""

    target: AuditTarget

    def __new__(cls, value: str, target: AuditTarget) -> AuditAction:
        member = str.__new__(cls, value)
        member._value_ = value
        member.target = target
        return member

    ADMIN_CREATE = "admin.create", AuditTarget.ADMIN
    ADMIN_DISABLE = "admin.disable", AuditTarget.ADMIN
    ADMIN_ENABLE = "admin.enable", AuditTarget.ADMIN
    ADMIN_LOCKED = "admin.locked", AuditTarget.ADMIN
    ADMIN_PASSWORD = "admin.password", AuditTarget.ADMIN
    ADMIN_RECOVERY_CODE_USED = "admin.recovery_code_used", AuditTarget.ADMIN
    ADMIN_REMOVE = "admin.remove", AuditTarget.ADMIN
    ADMIN_ROLE = "admin.role", AuditTarget.ADMIN
    ADMIN_SIGN_IN = "admin.sign_in", AuditTarget.ADMIN
    ADMIN_SIGN_OUT = "admin.sign_out", AuditTarget.ADMIN
    ADMIN_TOTP_OFF = "admin.totp_off", AuditTarget.ADMIN
    ADMIN_TOTP_ON = "admin.totp_on", AuditTarget.ADMIN
    CASE_NOTE_ADD = "case_note.add", AuditTarget.CASE_NOTE
    DEMO_FILL = "demo.fill", AuditTarget.PRODUCT
    DEVICE_EXTEND_TRIAL = "device.extend_trial", AuditTarget.MACHINE
    DEVICE_FREE_SEAT = "device.free_seat", AuditTarget.MACHINE
    DEVICE_SET_STATUS = "device.set_status", AuditTarget.MACHINE
    KEYS_ROTATE = "keys.rotate", AuditTarget.PRODUCT
    LEASE_FORCE_RELEASE = "lease.force_release", AuditTarget.LICENSE
    LICENSE_CANCEL = "license.cancel", AuditTarget.LICENSE
    LICENSE_GRANT_TRANSFERS = "license.grant_transfers", AuditTarget.LICENSE
    LICENSE_ISSUE = "license.issue", AuditTarget.LICENSE
    LICENSE_MAX_DEVICES = "license.max_devices", AuditTarget.LICENSE
    LICENSE_OFFLINE_ACTIVATE = "license.offline_activate", AuditTarget.LICENSE
    LICENSE_OFFLINE_DEACTIVATE = "license.offline_deactivate", AuditTarget.LICENSE
    LICENSE_REINSTATE = "license.reinstate", AuditTarget.LICENSE
    LICENSE_RENEW = "license.renew", AuditTarget.LICENSE
    LICENSE_RESEND_KEY = "license.resend_key", AuditTarget.LICENSE
    LICENSE_RESET_TRANSFERS = "license.reset_transfers", AuditTarget.LICENSE
    LICENSE_REVOKE = "license.revoke", AuditTarget.LICENSE
    LICENSE_SUSPEND = "license.suspend", AuditTarget.LICENSE
    LICENSE_TERMS = "license.terms", AuditTarget.LICENSE
    ORGANISATION_CREATE = "organisation.create", AuditTarget.ORGANISATION
    ORGANISATION_RENAME = "organisation.rename", AuditTarget.ORGANISATION
    ORGANISATION_LICENSE = "organisation.license", AuditTarget.ORGANISATION
    ORGANISATION_SEATS = "organisation.seats", AuditTarget.ORGANISATION
    ORGANISATION_INVITE = "organisation.invite", AuditTarget.ORGANISATION
    ORGANISATION_JOIN = "organisation.join", AuditTarget.ORGANISATION
    ORGANISATION_ROLE = "organisation.role", AuditTarget.ORGANISATION
    ORGANISATION_REMOVE = "organisation.remove", AuditTarget.ORGANISATION
    ORGANISATION_LEAVE = "organisation.leave", AuditTarget.ORGANISATION
    LICENSE_USER_ASSIGN = "license.user_assign", AuditTarget.LICENSE
    LICENSE_USER_FREE = "license.user_free", AuditTarget.LICENSE
    LICENSE_USER_REASSIGN = "license.user_reassign", AuditTarget.LICENSE
    PAYMENTS_EMAIL_SETTINGS = "payments.email_settings", AuditTarget.PRODUCT
    PAYMENTS_MAP = "payments.map", AuditTarget.PAYMENT_MAPPING
    PAYMENTS_UNMAP = "payments.unmap", AuditTarget.PAYMENT_MAPPING
    POLICY_CREATE = "policy.create", AuditTarget.PRODUCT
    POLICY_UPDATE = "policy.update", AuditTarget.PRODUCT
    PORTAL_FREE_MACHINE = "portal.free_machine", AuditTarget.LICENSE
    PORTAL_LABEL_MACHINE = "portal.label_machine", AuditTarget.LICENSE
    PORTAL_SIGN_IN = "portal.sign_in", AuditTarget.CUSTOMER
    PORTAL_USER_SIGN_IN = "portal.user_sign_in", AuditTarget.LICENSE
    PRODUCT_CREATE = "product.create", AuditTarget.PRODUCT
    PRODUCT_NOTIFY = "product.notify", AuditTarget.PRODUCT
    PRODUCT_PRIVACY = "product.privacy", AuditTarget.PRODUCT
    PRODUCT_PROXY_TRAIL = "product.proxy_trail", AuditTarget.PRODUCT
    PRODUCT_TEST_MODE = "product.test_mode", AuditTarget.PRODUCT
    RELEASE_PUBLISH = "release.publish", AuditTarget.RELEASE
    STORE_RESTORE = "store.restore", AuditTarget.STORE
    TICKET_MINT = "ticket.mint", AuditTarget.PRODUCT
    TOKEN_CREATE = "token.create", AuditTarget.API_TOKEN
    TOKEN_REVOKE = "token.revoke", AuditTarget.API_TOKEN
    SSO_CONNECTION_ADD = "sso_connection.add", AuditTarget.SSO_CONNECTION
    SSO_CONNECTION_REMOVE = "sso_connection.remove", AuditTarget.SSO_CONNECTION
    WEBHOOK_CREATE = "webhook.create", AuditTarget.WEBHOOK
    WEBHOOK_DELETE = "webhook.delete", AuditTarget.WEBHOOK
    WEBHOOK_DISABLE = "webhook.disable", AuditTarget.WEBHOOK
    WEBHOOK_ENABLE = "webhook.enable", AuditTarget.WEBHOOK
    WEBHOOK_REDELIVER = "webhook.redeliver", AuditTarget.WEBHOOK
    WEBHOOK_TEST = "webhook.test", AuditTarget.WEBHOOK
    WEBHOOK_UPDATE = "webhook.update", AuditTarget.WEBHOOK

    @property
    def sentence(self) -> Sentence:
        return SENTENCES[self]


def record(
    conn: sa.Connection, action: AuditAction, target_id: Any, /, *, actor: str, now: dt.datetime, **details: Any
) -> None:
    """Write that ``actor`` did ``action`` to ``target_id`` (of the action's target type), in ``conn``'s transaction."""
    conn.execute(
        audit_entries.insert().values(
            at=now,
            actor=actor,
            action=action.value,
            target_type=action.target.value,
            target_id=None if target_id is None else str(target_id),
            details=details,
        )
    )


def _reason(w: Words, d: Mapping[str, Any]) -> str:
    return w.say(": “{}”", d["reason"]) if d.get("reason") else ""


def _if(w: Words, key: str, template: str, d: Mapping[str, Any]) -> str:
    """``template`` with the detail ``key`` shown, or nothing when the entry has no such detail."""
    return w.say(template, shown(d[key])) if d.get(key) not in (None, "", [], {}) else ""


def _knobs(d: Mapping[str, Any], *left_out: str) -> str:
    return listed(k.replace("_", " ") for k in d if k not in left_out)


def _noted_on(w: Words, d: Mapping[str, Any]) -> str:
    if d.get("on") == "license":
        return w.license(d.get("license_id"))
    return w.say("{} {}", "machine" if d.get("on") == "machine" else "device", d.get(d.get("on") or "device", "?"))


_FIELD_WORDS = {"url": "URL", "secret": "signing secret"}

SENTENCES: dict[AuditAction, Sentence] = {
    AuditAction.ADMIN_CREATE: people.admin_create,
    AuditAction.ADMIN_DISABLE: people.admin_disable,
    AuditAction.ADMIN_ENABLE: people.admin_enable,
    AuditAction.ADMIN_LOCKED: people.admin_locked,
    AuditAction.ADMIN_PASSWORD: people.admin_password,
    AuditAction.ADMIN_RECOVERY_CODE_USED: people.admin_recovery_code_used,
    AuditAction.ADMIN_REMOVE: people.admin_remove,
    AuditAction.ADMIN_ROLE: people.admin_role,
    AuditAction.ADMIN_SIGN_IN: people.admin_sign_in,
    AuditAction.ADMIN_SIGN_OUT: people.admin_sign_out,
    AuditAction.ADMIN_TOTP_OFF: people.admin_totp_off,
    AuditAction.ADMIN_TOTP_ON: people.admin_totp_on,
    AuditAction.CASE_NOTE_ADD: lambda t, d, w: w.say(
        "Wrote case note #{} on {}: “{}”", t, _noted_on(w, d), shown(d.get("text"))
    ),
    AuditAction.DEMO_FILL: lambda t, d, w: w.say(
        "Filled {} with demo data ({}, {})",
        w.product(t),
        counted(d.get("devices"), "device"),
        counted(d.get("licenses"), "license"),
    ),
    AuditAction.DEVICE_EXTEND_TRIAL: lambda t, d, w: w.say(
        "Extended the trial of {} by {}, to {}",
        w.machine(d.get("device")),
        counted(d.get("days"), "day"),
        shown(d.get("trial_end")),
    ),
    AuditAction.DEVICE_FREE_SEAT: lambda t, d, w: w.say(
        "Freed the seat {} held on {}{}", w.machine(d.get("device")), w.license(d.get("license_id")), _reason(w, d)
    ),
    AuditAction.DEVICE_SET_STATUS: lambda t, d, w: w.say(
        "Set {} to {} (was {}){}",
        w.machine(d.get("device")),
        shown(d.get("status")).replace("_", " "),
        shown(d.get("previous")).replace("_", " "),
        _reason(w, d),
    ),
    AuditAction.KEYS_ROTATE: lambda t, d, w: w.say(
        "Rotated the signing key of {}{}", w.product(t), _if(w, "kid", " (new key {})", d)
    ),
    AuditAction.LEASE_FORCE_RELEASE: lambda t, d, w: w.say(
        "Released the floating seat of {} held by {}{}",
        w.license(t),
        w.machine(d.get("device")),
        _if(w, "borrowed_until", " (borrowed until {})", d),
    ),
    AuditAction.LICENSE_CANCEL: lambda t, d, w: w.say(
        "Cancelled the subscription of {}: it ends {}", w.license(t), shown(d.get("ends_at"))
    ),
    AuditAction.LICENSE_GRANT_TRANSFERS: lambda t, d, w: w.say(
        "Allowed {} {} to another machine beyond its type's limit{}",
        w.license(t),
        counted(d.get("transfers"), "more move"),
        _reason(w, d),
    ),
    AuditAction.LICENSE_ISSUE: lambda t, d, w: w.say(
        "Issued {} to {}{}", w.license(t, owner=False), d.get("email") or "?", _if(w, "order_ref", " (order {})", d)
    ),
    AuditAction.LICENSE_MAX_DEVICES: lambda t, d, w: w.say(
        "Set the machine limit of {} to {}{}",
        w.license(t),
        shown(d.get("max_devices")),
        _if(w, "previous", " (was {})", d),
    ),
    AuditAction.LICENSE_OFFLINE_ACTIVATE: lambda t, d, w: w.say(
        "Activated {} offline on {} for {}",
        w.license(t),
        w.machine(d.get("device")),
        counted(d.get("lease_days"), "day"),
    ),
    AuditAction.LICENSE_OFFLINE_DEACTIVATE: lambda t, d, w: w.say(
        "Ended the offline activation of {} on {}{}",
        w.license(t),
        w.machine(d.get("device")),
        ", freeing its seat" if d.get("seat_freed") else "",
    ),
    AuditAction.LICENSE_REINSTATE: lambda t, d, w: w.say("Reinstated {}{}", w.license(t), _reason(w, d)),
    AuditAction.LICENSE_RENEW: lambda t, d, w: w.say(
        "Renewed {} {}",
        w.license(t),
        w.say("until {}", shown(d["expires_at"])) if d.get("expires_at") else "for ever (it never expires)",
    ),
    AuditAction.LICENSE_RESEND_KEY: lambda t, d, w: w.say(
        "Sent the key of {} again{}", w.license(t), _if(w, "to", " to {}", d)
    ),
    AuditAction.LICENSE_RESET_TRANSFERS: lambda t, d, w: w.say(
        "Reset the transfers counted for {}{}{}",
        w.license(t),
        w.say(" ({} forgiven)", counted(d["forgiven"], "move")) if d.get("forgiven") else "",
        _reason(w, d),
    ),
    AuditAction.LICENSE_REVOKE: lambda t, d, w: w.say(
        "Revoked {}{}{}",
        w.license(t),
        w.say(" (freed {})", counted(d["devices_freed"], "machine")) if d.get("devices_freed") else "",
        _reason(w, d),
    ),
    AuditAction.LICENSE_SUSPEND: lambda t, d, w: w.say("Suspended {}{}", w.license(t), _reason(w, d)),
    AuditAction.LICENSE_TERMS: lambda t, d, w: w.say(
        "Changed the terms of {}: license type “{}”{}{}",
        w.license(t),
        d.get("policy") or "default",
        _if(w, "overrides", ", with {}", d),
        _if(w, "maintenance_until", ", updates until {}", d),
    ),
    AuditAction.ORGANISATION_CREATE: org.created,
    AuditAction.ORGANISATION_RENAME: org.renamed,
    AuditAction.ORGANISATION_LICENSE: org.licensed,
    AuditAction.ORGANISATION_SEATS: org.seats,
    AuditAction.ORGANISATION_INVITE: org.invited,
    AuditAction.ORGANISATION_JOIN: org.joined,
    AuditAction.ORGANISATION_ROLE: org.role_changed,
    AuditAction.ORGANISATION_REMOVE: org.removed,
    AuditAction.ORGANISATION_LEAVE: org.left,
    AuditAction.LICENSE_USER_ASSIGN: people.seat_given,
    AuditAction.LICENSE_USER_FREE: people.seat_freed,
    AuditAction.LICENSE_USER_REASSIGN: people.seat_moved,
    AuditAction.PAYMENTS_EMAIL_SETTINGS: lambda t, d, w: w.say(
        "Changed the license emails of {}: replies go to {}, trial reminder {} before the end",
        w.product(t),
        d.get("reply_to") or "the server's address",
        counted(d.get("trial_reminder_days"), "day"),
    ),
    AuditAction.PAYMENTS_MAP: lambda t, d, w: w.say(
        "Mapped {} product {} to {}{}; a refund {} the license",
        str(d.get("provider", "?")).capitalize(),
        d.get("external_id", "?"),
        w.product(d.get("product")),
        w.say(" (license type #{})", d["policy_id"]) if d.get("policy_id") else "",
        {"suspend": "suspends", "revoke": "revokes"}.get(str(d.get("on_refund")), "revokes"),
    ),
    AuditAction.PAYMENTS_UNMAP: lambda t, d, w: w.say(
        "Removed the mapping of {} product {}", str(d.get("provider", "?")).capitalize(), d.get("external_id", "?")
    ),
    AuditAction.POLICY_CREATE: lambda t, d, w: w.say(
        "Created the license type “{}” of {}", d.get("policy") or "?", w.product(t)
    ),
    AuditAction.POLICY_UPDATE: lambda t, d, w: w.say(
        "Changed {}of the license type “{}” of {}{}",
        w.say("{} ", _knobs(d, "policy", "renamed")) if _knobs(d, "policy", "renamed") else "",
        d.get("policy") or "default",
        w.product(t),
        _if(w, "renamed", ", renamed “{}”", d),
    ),
    AuditAction.PORTAL_FREE_MACHINE: lambda t, d, w: w.say(
        "Freed a machine from {} in the customer portal ({}){}",
        w.license(t),
        counted(len(d.get("installations") or ()), "installation"),
        _reason(w, d),
    ),
    AuditAction.PORTAL_LABEL_MACHINE: lambda t, d, w: w.say(
        "Named a machine of {} “{}” in the customer portal", w.license(t), d.get("label") or "(no name)"
    ),
    AuditAction.PORTAL_SIGN_IN: lambda t, d, w: w.say(
        "Signed in to the customer portal{}", " through single sign-on" if d.get("method") == "sso" else ""
    ),
    AuditAction.PORTAL_USER_SIGN_IN: people.device_signed_in,
    AuditAction.PRODUCT_CREATE: lambda t, d, w: w.say("Created {}", w.product(t)),
    AuditAction.PRODUCT_NOTIFY: lambda t, d, w: w.say(
        "Changed the notifications of {}{}", w.product(t), _if(w, "emails", " (emails to {})", d)
    ),
    AuditAction.PRODUCT_PRIVACY: lambda t, d, w: w.say(
        "Set {} to {} client facts, kept {}",
        w.product(t),
        "collect" if d.get("collect_facts") else "not collect",
        counted(d.get("facts_retention_days"), "day"),
    ),
    AuditAction.PRODUCT_PROXY_TRAIL: lambda t, d, w: w.say(
        "Turned the proxy-log trail {} for {}, usage reported {}",
        "on" if d.get("proxy_trail") else "off",
        w.product(t),
        "once" if d.get("usage_report_once") else "periodically",
    ),
    AuditAction.PRODUCT_TEST_MODE: lambda t, d, w: w.say(
        "Turned test mode {} for {}{}",
        "on" if d.get("test_mode") else "off",
        w.product(t),
        _if(w, "test_email", ", test posts emailed to {}", d),
    ),
    AuditAction.TICKET_MINT: lambda t, d, w: w.say(
        "Minted the installer ticket {} of {}{}{}",
        d.get("ticket") or "?",
        w.product(t),
        _if(w, "version", " for version {}", d),
        _if(w, "license", " for license {}", d),
    ),
    AuditAction.RELEASE_PUBLISH: lambda t, d, w: w.say(
        "Published version {} of {} on the {} channel",
        d.get("version") or "?",
        w.product(d.get("product")),
        d.get("channel") or "stable",
    ),
    AuditAction.STORE_RESTORE: lambda t, d, w: w.say(
        "Restored the {} database from the backup of {} ({} reset)",
        t or "?",
        shown(d.get("backup_created_at")),
        counted(d.get("token_chains_reset", 0), "token chain"),
    ),
    AuditAction.TOKEN_CREATE: lambda t, d, w: w.say(
        "Created the API token “{}” ({})", d.get("name") or t, shown(d.get("scopes") or [])
    ),
    AuditAction.TOKEN_REVOKE: lambda t, d, w: w.say("Revoked API token #{}{}", t, _reason(w, d)),
    AuditAction.SSO_CONNECTION_ADD: people.connection_added,
    AuditAction.SSO_CONNECTION_REMOVE: people.connection_removed,
    AuditAction.WEBHOOK_CREATE: lambda t, d, w: w.say(
        "Created {} for {} of {}",
        w.webhook(t),
        w.say("the events {}", listed(d["events"])) if d.get("events") else "every event",
        w.product(d["product"]) if d.get("product") else "every product",
    ),
    AuditAction.WEBHOOK_DELETE: lambda t, d, w: w.say("Deleted {}", w.webhook(t)),
    AuditAction.WEBHOOK_DISABLE: lambda t, d, w: w.say("Disabled {}", w.webhook(t)),
    AuditAction.WEBHOOK_ENABLE: lambda t, d, w: w.say("Enabled {}", w.webhook(t)),
    AuditAction.WEBHOOK_REDELIVER: lambda t, d, w: w.say(
        "Queued delivery #{} to {} again (as #{})", d.get("delivery", "?"), w.webhook(t), d.get("new_delivery", "?")
    ),
    AuditAction.WEBHOOK_TEST: lambda t, d, w: w.say(
        "Sent a test to {}: {}{}",
        w.webhook(t),
        "delivered" if d.get("delivered") else "not delivered",
        _if(w, "response_code", " (HTTP {})", d),
    ),
    AuditAction.WEBHOOK_UPDATE: lambda t, d, w: w.say(
        "Changed the {} of {}",
        listed(_FIELD_WORDS.get(c, c.replace("_", " ")) for c in d.get("changed") or ["settings"]),
        w.webhook(t),
    ),
}
