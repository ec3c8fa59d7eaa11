"""One example entry of every audit action, and the docs' table of actions rendered from them.

``scripts/audit-table`` writes :func:`action_table` into docs/admin.md; the tests
render every example, so a sentence that breaks on its own action's details fails there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from licentia.server.admin.audit.sentences import Names, plain, sentence
from licentia.server.audit import AuditAction

A = AuditAction
DEVICE = "3f2a9c0e1b7d4e55a0c1"
EXAMPLE_NAMES = Names(
    licenses={"12": ("QBR5L7XW", "Bob")},
    products={"3": "acme"},
    admins={"2": "ann@vendor.example", "3": "dana@vendor.example"},
)


@dataclass(frozen=True)
class ExampleEntry:
    """The columns of an audit entry a sentence reads."""

    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


# action -> (target id, details), as the code that records the action writes them.
EXAMPLES: dict[AuditAction, tuple[str, dict[str, Any]]] = {
    A.ADMIN_CREATE: ("3", {"email": "dana@vendor.example", "role": "staff"}),
    A.ADMIN_DISABLE: ("3", {"email": "dana@vendor.example"}),
    A.ADMIN_ENABLE: ("3", {"email": "dana@vendor.example"}),
    A.ADMIN_LOCKED: ("3", {}),
    A.ADMIN_PASSWORD: ("2", {}),
    A.ADMIN_RECOVERY_CODE_USED: ("2", {"left": 1}),
    A.ADMIN_REMOVE: ("3", {"email": "dana@vendor.example"}),
    A.ADMIN_ROLE: ("3", {"email": "dana@vendor.example", "previous": "viewer", "role": "staff"}),
    A.ADMIN_SIGN_IN: ("2", {"second_factor": "totp"}),
    A.ADMIN_SIGN_OUT: ("2", {}),
    A.ADMIN_TOTP_OFF: ("3", {}),
    A.ADMIN_TOTP_ON: ("2", {}),
    A.CASE_NOTE_ADD: (
        "7",
        {"on": "device", "device": DEVICE, "text": "Same office IP as license QBR5L7XW; asked the customer"},
    ),
    A.DEMO_FILL: ("my-app", {"devices": 1200, "events": 40000, "licenses": 40}),
    A.DEVICE_EXTEND_TRIAL: ("41", {"device": DEVICE, "days": 14, "trial_end": "2027-03-15T09:30:00+00:00"}),
    A.DEVICE_FREE_SEAT: ("41", {"device": DEVICE, "license_id": 12, "reason": "new laptop"}),
    A.DEVICE_SET_STATUS: (
        "41",
        {"device": DEVICE, "status": "blocked", "previous": "registered", "reason": "key shared on a forum"},
    ),
    A.KEYS_ROTATE: ("acme", {"kid": "k2"}),
    A.LEASE_FORCE_RELEASE: ("12", {"lease": 8, "machine": 41, "device": DEVICE, "borrowed_until": None}),
    A.LICENSE_CANCEL: ("12", {"previous": None, "ends_at": "2027-04-01T00:00:00+00:00"}),
    A.LICENSE_GRANT_TRANSFERS: ("12", {"transfers": 2, "reason": "office move"}),
    A.LICENSE_ISSUE: (
        "12",
        {"product": "acme", "email": "bob@example.com", "key_prefix": "QBR5L7XW", "order_ref": "A-1042"},
    ),
    A.LICENSE_MAX_DEVICES: ("12", {"previous": 3, "max_devices": 5}),
    A.LICENSE_OFFLINE_ACTIVATE: ("12", {"activation": 4, "device": DEVICE, "lease_days": 30}),
    A.LICENSE_OFFLINE_DEACTIVATE: ("12", {"activation": 4, "device": DEVICE, "seat_freed": True}),
    A.LICENSE_REINSTATE: ("12", {"previous": "suspended", "devices_freed": 0, "reason": "paid"}),
    A.LICENSE_RENEW: ("12", {"previous": None, "expires_at": "2028-01-01T00:00:00+00:00"}),
    A.LICENSE_RESEND_KEY: ("12", {"customer": 5, "to": "bob@example.com", "sent": "new email"}),
    A.LICENSE_RESET_TRANSFERS: ("12", {"forgiven": 3, "reason": "stolen laptop"}),
    A.LICENSE_REVOKE: ("12", {"previous": "active", "devices_freed": 2, "reason": "chargeback"}),
    A.LICENSE_SUSPEND: ("12", {"previous": "active", "devices_freed": 0, "reason": "payment failed"}),
    A.LICENSE_USER_ASSIGN: ("12", {"email": "ann@team.example"}),
    A.LICENSE_USER_FREE: ("12", {"email": "ann@team.example", "reason": "left the team", "installations": 2}),
    A.LICENSE_USER_REASSIGN: ("12", {"email": "ann@team.example", "to": "bob@team.example"}),
    A.LICENSE_TERMS: (
        "12",
        {"policy": "Pro", "previous_policy": 1, "overrides": {"max_devices": 5}, "maintenance_until": None},
    ),
    A.ORGANISATION_CREATE: ("4", {"name": "Team Blue", "owner": "olga@team.example"}),
    A.ORGANISATION_RENAME: ("4", {"name": "Team Navy", "previous": "Team Blue"}),
    A.ORGANISATION_LICENSE: ("4", {"license_id": 12, "attached": True}),
    A.ORGANISATION_SEATS: ("4", {"license_id": 12, "seats": 15, "previous": 10, "provider": "stripe"}),
    A.ORGANISATION_INVITE: ("4", {"email": "dana@team.example", "role": "admin"}),
    A.ORGANISATION_JOIN: ("4", {"email": "dana@team.example", "role": "admin"}),
    A.ORGANISATION_ROLE: ("4", {"email": "dana@team.example", "role": "owner", "previous": "admin"}),
    A.ORGANISATION_REMOVE: ("4", {"email": "erin@team.example", "role": "member"}),
    A.ORGANISATION_LEAVE: ("4", {"email": "erin@team.example", "role": "member"}),
    A.PAYMENTS_EMAIL_SETTINGS: ("3", {"reply_to": "support@acme.example", "trial_reminder_days": 3}),
    A.PAYMENTS_MAP: (
        "1",
        {"provider": "stripe", "external_id": "price_1Q2w", "product": "acme", "policy_id": 2, "on_refund": "revoke"},
    ),
    A.PAYMENTS_UNMAP: ("1", {"provider": "stripe", "external_id": "price_1Q2w"}),
    A.POLICY_CREATE: ("3", {"policy": "Pro", "max_devices": 3}),
    A.POLICY_UPDATE: ("3", {"policy": "Pro", "max_devices": 5, "on_clone": "block"}),
    A.PORTAL_FREE_MACHINE: ("12", {"machine": 41, "installations": [17, 18], "reason": "new laptop"}),
    A.PORTAL_LABEL_MACHINE: ("12", {"machine": 41, "label": "Dana's laptop"}),
    A.PORTAL_SIGN_IN: ("bob@example.com", {}),
    A.PORTAL_USER_SIGN_IN: ("12", {"email": "ann@team.example", "device": "dv_3c9f"}),
    A.PRODUCT_CREATE: ("3", {}),
    A.PRODUCT_NOTIFY: ("3", {"emails": ["ops@acme.example"], "on": {"install": True, "piracy": True}}),
    A.PRODUCT_PRIVACY: ("3", {"collect_facts": True, "facts_retention_days": 90}),
    A.PRODUCT_PROXY_TRAIL: ("3", {"proxy_trail": True, "usage_report_once": True}),
    A.PRODUCT_TEST_MODE: ("3", {"test_mode": True, "test_email": "dev@acme.example"}),
    A.RELEASE_PUBLISH: ("7", {"product": "acme", "version": "2.1.0", "channel": "stable"}),
    A.TICKET_MINT: ("acme", {"ticket": "it_3f9a0c2e", "source": "portal", "version": "2.1.0", "license": 7}),
    A.STORE_RESTORE: (
        "licentia",
        {"backup_created_at": "2027-02-01T02:00:00+00:00", "backup_revision": "0011", "token_chains_reset": 1200},
    ),
    A.TOKEN_CREATE: ("5", {"name": "shop", "scopes": ["read", "write"]}),
    A.TOKEN_REVOKE: ("5", {"reason": "leaked in a log"}),
    A.SSO_CONNECTION_ADD: (
        "2",
        {"purpose": "portal", "issuer": "https://id.globex.example", "domains": ["globex.example"]},
    ),
    A.SSO_CONNECTION_REMOVE: ("2", {"issuer": "https://id.globex.example"}),
    A.WEBHOOK_CREATE: ("2", {"product": "acme", "events": ["license.created", "license.revoked"]}),
    A.WEBHOOK_DELETE: ("2", {}),
    A.WEBHOOK_DISABLE: ("2", {}),
    A.WEBHOOK_ENABLE: ("2", {}),
    A.WEBHOOK_REDELIVER: ("2", {"delivery": 310, "new_delivery": 344}),
    A.WEBHOOK_TEST: ("2", {"delivered": True, "response_code": 200}),
    A.WEBHOOK_UPDATE: ("2", {"changed": ["events", "url"]}),
}


def example(action: AuditAction) -> ExampleEntry:
    target_id, details = EXAMPLES[action]
    return ExampleEntry(action.value, action.target.value, target_id, details)


def action_table() -> str:
    """The Markdown table of every audit action, its target and how its example reads on the audit page."""
    lines = ["| action | target | reads as (an example) |", "|---|---|---|"]
    for action in sorted(AuditAction):
        said = plain(sentence(example(action), EXAMPLE_NAMES))
        lines.append(f"| `{action.value}` | {action.target.value.replace('_', ' ')} | {said} |")
    return "\n".join(lines) + "\n"
