"""Certificates travel by email (a real SMTP server), the portal and the payment webhooks: their fixtures."""

from __future__ import annotations

from tests.server.payments.conftest import settings, smtp
from tests.server.portal.conftest import shop

__all__ = ["settings", "shop", "smtp"]
