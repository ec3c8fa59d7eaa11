"""Who is acting: admin users (passwords) and API tokens, both argon2-hashed at rest."""
