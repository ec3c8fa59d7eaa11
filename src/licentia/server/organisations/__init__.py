"""Organisations: customers that are teams, their members (owner, admin, member), invitations and licenses."""
