"""Transform stage: per-note steps, then vault-wide steps, each a plain function."""
