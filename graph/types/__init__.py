"""GraphQL object types, built from plain rows with `from_row()`."""
