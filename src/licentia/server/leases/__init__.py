"""Floating licenses: leases with heartbeats, and borrowing (docs/licensing-models.md).

The public lease API is ``router``; the developer API's and the admin UI's
lease pages live in their surfaces (``adminapi.leases``, ``admin.licenses.leases``).
Importing the package loads no web framework, so the CLI's ``licentia license
leases`` stays light.
"""
