"""Payment providers (Stripe, Paddle Billing, FastSpring): verified webhooks that become licenses.

``create_app`` calls :func:`install`. Also the mapping of providers' product
or price ids to products and license types: developer API, admin page and the
``licentia payments`` commands (``server/cli/payments.py``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Include the webhooks, the developer API and the admin page; start the trial reminders with the app."""
    from licentia.server.payments.admin_page import router as admin_router
    from licentia.server.payments.api import router as api_router
    from licentia.server.payments.reminders import start_trial_reminders
    from licentia.server.payments.router import router
    from licentia.server.state import state_of

    for each in (router, api_router, admin_router):
        app.include_router(each)
    state_of(app).startup_tasks.append(start_trial_reminders)


__all__ = ["install"]
