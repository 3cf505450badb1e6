"""Refuse on SQLite the statement forms that rewrite a row without UPDATE or DELETE triggers:
``INSERT OR REPLACE`` / ``REPLACE`` and an UPSERT on an existing id or hash. (On PostgreSQL an
UPSERT that updates fires the UPDATE trigger of migration 0002, and TRUNCATE has its own.)"""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER audit_no_replace BEFORE INSERT ON core_auditevent "
    "WHEN EXISTS (SELECT 1 FROM core_auditevent WHERE id = NEW.id OR hash = NEW.hash) "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS audit_no_replace;"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0004_bulk_load")]

    operations = [migrations.RunPython(_run(SQLITE), _run(SQLITE_REVERSE))]
