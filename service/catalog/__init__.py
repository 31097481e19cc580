"""The catalogue: track payloads, ingest (files → analysis → store), and the Catalog service the API reads through."""
