"""Users and their taste: library entries (one point per user and track), the taste model, feedback, counters."""
