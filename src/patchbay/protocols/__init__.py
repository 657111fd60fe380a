"""Client-facing wire formats ⇄ the canonical domain (pure: no I/O)."""
