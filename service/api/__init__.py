"""The Litestar app: create_app(settings), controllers by resource, schemas, auth, the error table."""
