"""Full-text search over people's names: an FTS5 table on SQLite, a GIN index on PostgreSQL.

SQLite: ``docket_person_fts`` is an external-content FTS5 index of ``docket_person``'s given
and family names, without triggers (a trigger per row would make bulk loads of millions of
people many times slower): the services that write names index them in the same transaction,
bulk loads index each batch with one statement, and the search catches up rows written by
other bulk paths (``caseload.docket.intake``). PostgreSQL: a GIN index on exactly the
expression the search queries, kept current by the server.
"""

import importlib

from django.db import migrations

VendorRunSQL = importlib.import_module("caseload.policy.migrations.0002_manual_full_text_search").VendorRunSQL

SQLITE = [
    "CREATE VIRTUAL TABLE docket_person_fts USING fts5(first_name, last_name, content='docket_person', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO docket_person_fts(docket_person_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = ["DROP TABLE IF EXISTS docket_person_fts"]
POSTGRES = [
    "CREATE INDEX docket_person_name_tsv_idx ON docket_person "
    "USING GIN (to_tsvector('simple', first_name || ' ' || last_name))",
]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS docket_person_name_tsv_idx"]


class Migration(migrations.Migration):
    dependencies = [("docket", "0004_person_charges_filed_on_overdue_scan_cadence")]

    operations = [
        VendorRunSQL("sqlite", SQLITE, SQLITE_REVERSE),
        VendorRunSQL("postgresql", POSTGRES, POSTGRES_REVERSE),
    ]
