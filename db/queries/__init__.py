"""Read functions: keyword-only, one statement each, returning plain rows."""
