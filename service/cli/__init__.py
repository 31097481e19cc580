"""The `musicrec` command: the one composition root (the only place that wires the API and the workers together)."""
