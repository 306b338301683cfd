"""Actions: named, schema-checked calls an integration declares as data (``executeAction``),
run with a resolved connection, once per idempotency key; plus the built-ins that need no
connection (date and time, hash and encode, a key-value store)."""
