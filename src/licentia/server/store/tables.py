"""Every table as a Core ``sa.Table``, declared once: ``from licentia.server.store.tables import devices``.

The models (``models``, ``payment_models``, ``customer_models``, ``ticket_models``, ``user_models``)
describe the schema; services write Core statements against these tables (the hot path reads rows as
tuples, not ORM objects).
"""

from __future__ import annotations

from licentia.server.store.customer_models import (
    PortalSession,
    PortalSignInLink,
)
from licentia.server.store.models import (
    AdminSession,
    AdminUser,
    ApiToken,
    AuditEntry,
    CaseNote,
    Customer,
    DailyRollup,
    Device,
    Event,
    FreedSeat,
    Lease,
    License,
    Machine,
    MeterConsumption,
    MeterUsage,
    OfflineActivation,
    Organisation,
    OrganisationMember,
    OutboxMessage,
    Policy,
    PostInTestMode,
    Product,
    Purchase,
    RateLimit,
    Release,
    RollupWatermark,
    SigningKeyRow,
    TransferGrant,
    Value,
    Webhook,
    table_of,
)
from licentia.server.store.payment_models import (
    CustomerEmailSettings,
    PaymentEvent,
    PaymentLink,
    PaymentMapping,
    PaymentTrial,
)
from licentia.server.store.sso_models import SsoAttempt, SsoConnection
from licentia.server.store.ticket_models import InstallerTicket, InstallerTicketStart
from licentia.server.store.trail_models import TrailRequest
from licentia.server.store.user_models import DeviceAuthorization, LicenseUser

products = table_of(Product)
policies = table_of(Policy)
signing_keys = table_of(SigningKeyRow)
releases = table_of(Release)
customers = table_of(Customer)
purchases = table_of(Purchase)
licenses = table_of(License)
machines = table_of(Machine)
devices = table_of(Device)
events = table_of(Event)
values_table = table_of(Value)
admin_users = table_of(AdminUser)
admin_sessions = table_of(AdminSession)
api_tokens = table_of(ApiToken)
audit_entries = table_of(AuditEntry)
outbox = table_of(OutboxMessage)
webhooks = table_of(Webhook)
rate_limits = table_of(RateLimit)
rollups = table_of(DailyRollup)
leases = table_of(Lease)
watermarks = table_of(RollupWatermark)
offline_activations = table_of(OfflineActivation)
meter_usage = table_of(MeterUsage)
meter_consumptions = table_of(MeterConsumption)
freed_seats = table_of(FreedSeat)
transfer_grants = table_of(TransferGrant)
case_notes = table_of(CaseNote)
payment_mappings = table_of(PaymentMapping)
payment_events = table_of(PaymentEvent)
payment_links = table_of(PaymentLink)
email_settings = table_of(CustomerEmailSettings)
payment_trials = table_of(PaymentTrial)
signin_links = table_of(PortalSignInLink)
portal_sessions = table_of(PortalSession)
test_posts = table_of(PostInTestMode)
installer_tickets = table_of(InstallerTicket)
ticket_starts = table_of(InstallerTicketStart)
trail_requests = table_of(TrailRequest)
license_users = table_of(LicenseUser)
device_authorizations = table_of(DeviceAuthorization)
sso_connections = table_of(SsoConnection)
sso_attempts = table_of(SsoAttempt)
organisations = table_of(Organisation)
organisation_members = table_of(OrganisationMember)
