"""What the server serves, listed once: each surface's routers, and the tasks every process runs.

``app.create_app`` wires these lists; a new router or task is added here, in the
surface's list (the order matters where a comment says so).
"""

from __future__ import annotations

from fastapi.routing import APIRouter

from licentia.server import meta
from licentia.server.admin.audit import pages as admin_audit
from licentia.server.admin.catalog import pages as admin_catalog
from licentia.server.admin.catalog import policies as admin_policies
from licentia.server.admin.catalog import tickets as admin_tickets
from licentia.server.admin.customers import pages as admin_customers
from licentia.server.admin.dashboard import pages as admin_dashboard
from licentia.server.admin.devices import pages as admin_devices
from licentia.server.admin.emails import pages as admin_emails
from licentia.server.admin.evidence import pages as admin_evidence
from licentia.server.admin.licenses import certificates as admin_certificates
from licentia.server.admin.licenses import leases as admin_leases
from licentia.server.admin.licenses import meters as admin_meters
from licentia.server.admin.licenses import pages as admin_licenses
from licentia.server.admin.licenses import users as admin_license_users
from licentia.server.admin.lists import pages as admin_lists
from licentia.server.admin.machines import pages as admin_machines
from licentia.server.admin.offline import pages as admin_offline
from licentia.server.admin.organisations import pages as admin_organisations
from licentia.server.admin.payments import pages as admin_payments
from licentia.server.admin.signin import account as admin_account
from licentia.server.admin.signin import pages as admin_signin
from licentia.server.admin.signin import sso as admin_sso
from licentia.server.admin.team import pages as admin_team
from licentia.server.admin.team import sso as admin_sso_connections
from licentia.server.admin.tokens import pages as admin_tokens
from licentia.server.admin.webhooks import pages as admin_webhooks
from licentia.server.adminapi import certificates as api_certificates
from licentia.server.adminapi import evidence as api_evidence
from licentia.server.adminapi import leases as api_leases
from licentia.server.adminapi import meters as api_meters
from licentia.server.adminapi import offline as api_offline
from licentia.server.adminapi import organisations as api_organisations
from licentia.server.adminapi import payment_mappings as api_payment_mappings
from licentia.server.adminapi import payments as api_payments
from licentia.server.adminapi import policies as api_policies
from licentia.server.adminapi import router as api_main
from licentia.server.adminapi import sso as api_sso
from licentia.server.adminapi import test_mode as api_test_mode
from licentia.server.adminapi import tickets as api_tickets
from licentia.server.adminapi import trail as api_trail
from licentia.server.adminapi import users as api_users
from licentia.server.adminapi import webhooks as api_webhooks
from licentia.server.devices import moves as device_moves
from licentia.server.devices import router as devices_api
from licentia.server.events import router as events_api
from licentia.server.evidence import retention, reverse_dns
from licentia.server.leases import router as leases_api
from licentia.server.licenses import seat_release
from licentia.server.meters import retention as meter_keys
from licentia.server.meters import router as meters_api
from licentia.server.notify import start_delivery
from licentia.server.notify import sweep as notify_sweep
from licentia.server.payments import reminders
from licentia.server.payments import router as payment_hooks
from licentia.server.portal import certificates as portal_certificates
from licentia.server.portal import device as portal_device
from licentia.server.portal import offline as portal_offline
from licentia.server.portal import organisations as portal_organisations
from licentia.server.portal import router as portal_main
from licentia.server.portal import sso as portal_sso
from licentia.server.releases import router as releases_api
from licentia.server.rollups.task import start_rollup_task
from licentia.server.state import StartupTask
from licentia.server.users import router as device_signin_api
from licentia.server.values import router as values_api

# What create_app serves, listed once. Each surface's routes answer their own errors (scoped to them,
# not chosen by the URL); everything else answers the JSON errors of errors.install_error_handlers.

PUBLIC_API: tuple[APIRouter, ...] = (
    devices_api.router,  # /v1/check, /v1/activate, /v1/deactivate (answered by the status lane, see LicentiaApp)
    events_api.router,
    values_api.router,
    releases_api.router,
    meta.router,  # /v1/ping (the benchmarks' no-op), /healthz, /readyz, /metrics
    leases_api.router,  # floating seats: checkout, heartbeat, release, borrow
    meters_api.router,  # /v1/consume
    payment_hooks.router,  # Stripe, Paddle Billing and FastSpring webhooks
    device_signin_api.router,  # /v1/device/authorize, /v1/device/token: an application signs its user in (RFC 8628)
    device_moves.router,  # /v1/move, beside /v1/check (last: the routes above keep their places)
)
DEVELOPER_API: tuple[APIRouter, ...] = (
    api_main.router,
    api_policies.router,
    api_webhooks.router,
    api_payments.router,  # the signed purchase webhook of the vendor's own shop
    api_evidence.router,
    api_offline.router,
    api_meters.router,
    api_certificates.router,
    api_leases.router,
    api_payment_mappings.router,
    api_tickets.router,
    api_test_mode.router,
    api_trail.router,
    api_users.router,  # the people of a user license
    api_sso.router,  # single sign-on's connections
    api_organisations.router,
)
ADMIN_UI: tuple[APIRouter, ...] = (
    admin_signin.router,
    admin_sso.router,  # /admin/sso: sign-in through the installation's identity provider
    admin_dashboard.router,
    admin_audit.router,
    admin_lists.router,
    admin_devices.router,
    admin_machines.router,
    admin_evidence.router,  # before the license pages (their /licenses/{id}/{action} takes any last word)
    admin_license_users.router,  # before the license pages too (/licenses/{id}/users)
    admin_licenses.router,
    admin_customers.router,
    admin_organisations.router,
    admin_policies.router,  # before the catalog (its /products/{id}/{part} takes any last word)
    admin_catalog.router,
    admin_tickets.router,
    admin_tokens.router,
    admin_webhooks.router,
    admin_sso_connections.router,  # before the admins (their /admins/{id}/{change} takes any two words)
    admin_team.router,
    admin_account.router,
    admin_emails.router,
    admin_offline.router,
    admin_meters.router,
    admin_certificates.router,
    admin_leases.router,
    admin_payments.router,
)
PORTAL: tuple[APIRouter, ...] = (
    portal_main.router,
    portal_offline.router,
    portal_certificates.router,
    portal_device.router,  # /portal/device: a person confirms an application's sign-in code
    portal_sso.router,
    portal_organisations.router,
)

# What every process runs beside the requests, started and stopped with the app (periodic: ``ScheduledTask``s).
STARTUP_TASKS: tuple[StartupTask, ...] = (
    start_rollup_task,  # the dashboard's rollups
    start_delivery,  # the notification outbox
    reverse_dns.start,  # reverse host names of callers
    retention.start,  # the purge of old facts
    seat_release.SEAT_RELEASE.start,  # seats unseen for their policy's days
    notify_sweep.SWEEP.start,  # trials ending, trials ended, licenses expired
    meter_keys.KEY_PURGE.start,  # idempotency keys of meter consumptions, kept a week
    reminders.TRIAL_REMINDERS.start,  # subscriptions' trials ending soon
)
