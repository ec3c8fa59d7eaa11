"""Pure domain rules shared by the server and the client SDK (no I/O here)."""
