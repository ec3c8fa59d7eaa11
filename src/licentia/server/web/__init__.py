"""The page frame both web UIs use (the admin UI and the customer portal): templates, headers, sessions, CSRF,
the flash a redirect carries to the next page, error pages.

Neither UI imports the other: what they share lives here, below both.
"""
