"""Full-text search over manual section versions: an FTS5 table on SQLite, a GIN index on PostgreSQL.

Each statement runs only on its own backend (:class:`VendorRunSQL`). On SQLite the FTS5 table
is an external-content index of ``policy_manualsectionversion`` kept in step by triggers; on
PostgreSQL the GIN index covers exactly the expression the search service queries:
``to_tsvector('english', title || ' ' || body)``. A later migration that rebuilds
the versions table on SQLite (Django copies it to a new table) must recreate the triggers.
"""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE policy_manual_fts USING fts5(title, body, content='policy_manualsectionversion', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER policy_manual_fts_ai AFTER INSERT ON policy_manualsectionversion BEGIN "
    "INSERT INTO policy_manual_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER policy_manual_fts_ad AFTER DELETE ON policy_manualsectionversion BEGIN "
    "INSERT INTO policy_manual_fts(policy_manual_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER policy_manual_fts_au AFTER UPDATE ON policy_manualsectionversion BEGIN "
    "INSERT INTO policy_manual_fts(policy_manual_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO policy_manual_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "INSERT INTO policy_manual_fts(policy_manual_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS policy_manual_fts_au",
    "DROP TRIGGER IF EXISTS policy_manual_fts_ad",
    "DROP TRIGGER IF EXISTS policy_manual_fts_ai",
    "DROP TABLE IF EXISTS policy_manual_fts",
]
POSTGRES = [
    "CREATE INDEX policy_manual_tsv_idx ON policy_manualsectionversion "
    "USING GIN (to_tsvector('english', title || ' ' || body))",
]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS policy_manual_tsv_idx"]


class VendorRunSQL(migrations.RunSQL):
    """RunSQL that runs only on one database backend (a no-op elsewhere)."""

    def __init__(self, vendor: str, sql, reverse_sql=None, **kwargs):
        self.vendor = vendor
        super().__init__(sql, reverse_sql, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, *args], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]

    operations = [
        VendorRunSQL("sqlite", SQLITE, SQLITE_REVERSE),
        VendorRunSQL("postgresql", POSTGRES, POSTGRES_REVERSE),
    ]
