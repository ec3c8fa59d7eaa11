"""Air-gapped (offline) activation: request files in, signed responses out; deactivation proofs free seats."""
