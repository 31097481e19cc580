"""Request and response bodies (API.md shapes), msgspec Structs with camelCase field names, one module per resource."""
