"""``caseload import …``: load real ICE ERO-LESA statistical extracts (docs/foia-import.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, stderr, table

app = typer.Typer(no_args_is_help=True, help="Import real data: ICE FOIA statistical extracts.")


@app.command("ice-extract")
@command
def ice_extract(files: Annotated[list[Path], typer.Argument(help="extract files (gzip or plain, pipe-delimited)")],
                fmt: FormatOption = Format.text) -> None:
    """Import ICE removals, arrests or encounters extracts of any fiscal year; re-importing adds nothing.

    Every file is checked first (header, binary content, truncated gzip): if one is refused,
    nothing is imported. Bad rows are rejected with their line numbers; the rest load.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseload.core.reference import load_reference_data
    from caseload.ingest import foia

    inspections = foia.inspect_all(files)
    load_reference_data()
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        for ins in inspections:
            if ins.ignored_columns:
                stderr.print(f"{ins.path.name}: columns not imported: {', '.join(ins.ignored_columns)}")
            task = bar.add_task(f"{ins.path.name} ({ins.kind.name})", total=ins.data_lines)
            results.append(foia.do_import_extract(ins, actor_label="cli:import ice-extract",
                                                  progress=lambda n, t=task: bar.update(t, advance=n)))
    documents = [r.as_dict() for r in results]

    def render() -> None:
        table("Imported extracts", ["file", "kind", "FY", "rows", "imported", "duplicates", "rejected"],
              [[d["file"], d["kind"], str(d["fiscal_year"]), d["rows"], d["imported"], d["duplicates"], d["rejected"]]
               for d in documents])
        for d in documents:
            for e in d["errors"]:
                stderr.print(f"{d['file']}:{e['line']}: {e['reason']}", highlight=False)
            if d["rejected"] > len(d["errors"]):
                stderr.print(f"{d['file']}: … {d['rejected'] - len(d['errors']):,} more rejected rows not listed")

    emit(fmt, documents, render)


@app.command("docket")
@command
def docket(file: Annotated[Path, typer.Argument(help="docket CSV file (gzip or plain), docs/docket-file.md")],
           convictions: Annotated[Path | None, typer.Option("--convictions", help="the convictions CSV file")] = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="validate every row, write nothing")] = False,
           update: Annotated[bool, typer.Option("--update", help="apply conflicting rows (one audit event per changed case)")] = False,
           fmt: FormatOption = Format.text) -> None:
    """Import an agency's docket file; re-importing adds nothing, conflicts are listed, bad rows rejected.

    The files are checked first (header, binary content, truncated gzip): if one is refused,
    nothing is imported. Each batch of rows is one transaction.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseload.ingest import docket_file

    ins = docket_file.inspect(file)
    conv = (docket_file.inspect(convictions, header=docket_file.CONVICTION_HEADER,
                                required=[c for c, _, r in docket_file.CONVICTION_COLUMNS if r]) if convictions else None)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        task = bar.add_task(f"{ins.path.name}" + (" (dry run)" if dry_run else ""), total=ins.data_lines)
        result = docket_file.do_import_docket(ins, convictions=conv, dry_run=dry_run, update=update,
                                              actor_label="cli:import docket",
                                              progress=lambda n: bar.update(task, advance=n))
    doc = result.as_dict()

    def render() -> None:
        table(f"Imported {doc['file']}" + (" (dry run: nothing written)" if dry_run else ""), ["figure", "count"],
              [[k, doc[k]] for k in ("rows", "imported", "unchanged", "conflicts", "updated", "rejected", "unassigned",
                                     "convictions")])
        for e in doc["errors"]:
            stderr.print(f"{e.get('file', doc['file'])}:{e['line']}: {e['reason']}", highlight=False)
        if doc["rejected"] > len(doc["errors"]):
            stderr.print(f"… {doc['rejected'] - len(doc['errors']):,} more rejected rows not listed")
        for c in doc["conflict_list"]:
            stderr.print(f"{doc['file']}:{c['line']}: conflict with case {c['case_id']} ({c['a_number']}): "
                         f"{', '.join(c['columns'])} differ" + ("" if update else "; not applied (use --update)"),
                         highlight=False)
        for u in doc["unmatched_officers"]:
            stderr.print(f"{doc['file']}:{u['line']}: no officer with external id {u['external_id']!r} in the office; "
                         "the case stays unassigned", highlight=False)

    emit(fmt, doc, render)
