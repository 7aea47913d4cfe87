"""Per-request DataLoaders: one SQL statement per batch, each batch in its own short session."""
