"""alembic environment: migrates the core and every enabled plugin (each its own branch).

Run `alembic -c development.ini upgrade heads` or `shopcore-admin development.ini migrate`.
"""
from alembic import context

from shopcore.migrate import run_migrations

run_migrations(context)
