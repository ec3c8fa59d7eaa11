"""The customer portal (``/portal``): sign-in by emailed link, licenses, machines, downloads, air-gapped activation.

A surface: thin pages over the ``customers`` domain (accounts, ownership,
emails) and the others. ``create_app`` lists its routers and error pages.
"""
