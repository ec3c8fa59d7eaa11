"""The admin UI's Organisations area: the list, one organisation's page with its members and licenses."""
