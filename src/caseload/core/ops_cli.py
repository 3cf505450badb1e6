"""Operations commands at the top level: ``caseload doctor``, ``caseload backup``, ``caseload restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, stderr, table

app = typer.Typer(no_args_is_help=True, help="Operations: schema check, backups.")


@app.command()
@command
def doctor(repair: Annotated[bool, typer.Option("--repair", help="restore what is missing or changed")] = False,
           fmt: FormatOption = Format.text) -> None:
    """Compare the live schema (tables, columns, indexes, foreign keys, triggers) with what the
    migrations define; exit 1 while a difference remains."""
    from caseload.core import audit, doctor as doc

    report = doc.diagnose(repair=repair)
    if repair and report.repaired:
        audit.record(action="ops.schema_repaired", actor_label="cli:doctor", object_type="schema",
                     details={"repaired": report.repaired, "remaining": len(report.differences)})
    document = report.as_dict()

    def render() -> None:
        for item in report.repaired:
            stderr.print(f"repaired: {item['kind']} {item['name']}", highlight=False)
        for error in report.errors:
            stderr.print(f"[red]not repaired[/red]: {error['kind']} {error['name']}: {error['reason']}", highlight=False)
        for load in report.interrupted_loads:
            dropped = f"dropped {', '.join(load['dropped'])}" if load["dropped"] else "its schema changes are restored"
            rerun = "run it again to complete it" if load["resumable"] else "its data is partial: run it again to redo it"
            stderr.print(f"interrupted load {load['label']} ({load['started_at']}): {dropped}; {rerun}", highlight=False)
        if report.differences:
            table("Schema differences", ["object", "kind", "table", "problem", "repairable"],
                  [[d.name, d.kind, d.table, d.problem, "yes" if d.repairable else "no"] for d in report.differences])
            if not repair and any(d.repairable for d in report.differences):
                stderr.print("run caseload doctor --repair to restore the repairable ones")
        if report.ok:
            counts = report.counts
            stderr.print(f"schema matches the migrations: {counts['table']} tables, {counts['index']} indexes, "
                         f"{counts['constraint']} constraints, {counts['trigger']} triggers", highlight=False)

    emit(fmt, document, render)
    if not report.ok:
        raise typer.Exit(1)


@app.command("backup")
@command
def backup_command(out: Annotated[Path, typer.Option("--out", help="the backup file to write (must not exist)")],
                   fmt: FormatOption = Format.text) -> None:
    """Back up the whole database: SQLite online backup, or pg_dump's custom format on PostgreSQL."""
    from caseload.core import audit, backup

    result = backup.backup(out)
    audit.record(action="ops.backup_written", actor_label="cli:backup", object_type="database", details=result)
    emit(fmt, result, lambda: stderr.print(f"backup written: {result['file']} ({result['bytes']:,} bytes, {result['vendor']})",
                                           highlight=False))


@app.command("restore")
@command(initialises=True)
def restore_command(file: Annotated[Path, typer.Argument(help="a file written by caseload backup")],
                    fmt: FormatOption = Format.text) -> None:
    """Restore a backup into an empty database (a new SQLite file, or a PostgreSQL database without tables)."""
    from caseload.core import audit, backup
    from caseload.core.models import AuditEvent

    result = backup.restore(file)
    result["audit_events"] = AuditEvent.objects.count()
    audit.record(action="ops.backup_restored", actor_label="cli:restore", object_type="database", details=result)
    emit(fmt, result, lambda: stderr.print(f"restored {result['file']} ({result['audit_events']:,} audit events); "
                                           "run caseload audit verify and caseload doctor to check it", highlight=False))
