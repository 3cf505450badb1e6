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
