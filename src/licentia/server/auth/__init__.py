"""Who is acting: admin users (argon2id-hashed passwords) and API tokens (SHA-256 of 256 random bits)."""
