"""`musicrec bench`: analysis, ingest, store, query and HTTP figures, side by side with references."""
