"""The admin web UI (``/admin``): pages, their static files and their own error answers.

``create_app`` includes its router (``admin.router``) and calls
``admin.pages_setup.install``. Importing this package loads no web framework:
the CLI uses its account services (``admin.accounts``).
"""
