"""Metered use: a license type's meters (``renders: 1000 per month``), consumed by installations holding a seat.

``periods`` says which period an instant falls in (pure), ``service`` counts
consumption exactly under concurrency and reads usage, ``router`` serves
``POST /v1/consume`` and the usage reads of the developer API and admin UI.
"""
