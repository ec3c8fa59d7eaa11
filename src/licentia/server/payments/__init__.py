"""Payment providers (Stripe, Paddle Billing, FastSpring): verified webhooks that become licenses.

``router`` serves the providers' webhooks; the mapping of providers' product
or price ids to products and license types (``mapping``) is offered by the
developer API (``adminapi.payment_mappings``), the admin UI
(``admin.payments``) and the ``licentia payments`` commands.
"""
