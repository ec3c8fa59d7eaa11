"""The admin web UI (``/admin``): one folder per area, each with its pages; the frame in ``web``.

A surface: pages stay thin and call the domains' services. ``create_app``
lists every area's router and the error pages (``admin.web``).
"""
