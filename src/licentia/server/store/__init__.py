"""Storage: models, engines, migrations and the group-commit writer."""
