"""Payment providers (Stripe, Paddle Billing, FastSpring): verified webhooks that become licenses.

Picked up by ``create_app`` through ``default_extensions()``; the spine never
imports it. Also the mapping of providers' product or price ids to products
and license types: developer API, admin page and ``licentia payments`` CLI.
"""

from __future__ import annotations

from fastapi import FastAPI


def setup(app: FastAPI) -> None:
    from licentia.server.payments.admin_page import router as admin_router
    from licentia.server.payments.api import router as api_router
    from licentia.server.payments.reminders import start_trial_reminders
    from licentia.server.payments.router import router

    app.include_router(router)
    app.state.startup_hooks.append(start_trial_reminders)
    app.include_router(api_router)
    app.include_router(admin_router)


__all__ = ["setup"]
