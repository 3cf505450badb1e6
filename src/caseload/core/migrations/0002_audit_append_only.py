"""Database triggers that refuse UPDATE and DELETE on the audit log."""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON core_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON core_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS audit_no_update;", "DROP TRIGGER IF EXISTS audit_no_delete;"]

POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$;",
    "CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON core_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only();",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON core_auditevent "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_no_update_delete ON core_auditevent;",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON core_auditevent;",
    "DROP FUNCTION IF EXISTS audit_append_only();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
