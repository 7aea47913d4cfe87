"""Persistence: models, engines, query and write functions, migrations and the demo seed."""
