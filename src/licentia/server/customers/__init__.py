"""The vendor's customers as they serve themselves: sign-in by emailed link, what they own, their emails.

Used by the portal (``portal/``) and, for the emails a customer gets, by
payments and licenses.
"""
