"""``caseload training``: curriculum, sessions, attendance, status and compliance (docs/training.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer(no_args_is_help=True, help="Training records: curriculum, sessions, attendance, status and compliance.")

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="status on this date (default today)")]


def _label(name: str) -> str:
    return f"cli:training {name}"


def _sessions(rows: list[dict]) -> None:
    table("Training sessions", ["id", "course", "office", "from", "to", "instructor", "enrolled", "capacity", "status"],
          [[r["id"], r["course"], r["office"], r["starts_on"], r["ends_on"], r["instructor"], r["enrolled"], r["capacity"],
            r["status"]] for r in rows])


@app.command("import")
@command
def import_(
    file: Annotated[Path | None, typer.Argument(help="curriculum TOML file ([[course]] tables)")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="import the standard curriculum shipped with caseload")] = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Create or update courses from a curriculum file (all or nothing)."""
    from caseload.core.errors import UsageError
    from caseload.policy.cli import report_problems
    from caseload.training.services import SAMPLE_CURRICULUM, InvalidCurriculum, do_import_curriculum

    if (file is None) == (not sample):
        raise UsageError("file_or_sample", "give a FILE or --sample (not both)")
    try:
        counts = do_import_curriculum(SAMPLE_CURRICULUM if sample else file, actor_label=_label("import"))
    except InvalidCurriculum as exc:
        report_problems(exc.problems)
        raise
    emit(fmt, counts, lambda: table("Curriculum import", ["courses", "count"], [[k, v] for k, v in counts.items()]))


@app.command("courses")
@command
def courses(fmt: FormatOption = Format.text) -> None:
    """The active courses of the curriculum."""
    from caseload.training.services import list_courses

    rows = list_courses()
    emit(fmt, rows, lambda: table("Courses", ["code", "hours", "every (months)", "units", "roles", "certification"],
                                   [[r["code"], r["hours"], r["recurrence_months"] or "once", ", ".join(r["units"]),
                                     ", ".join(r["roles"]), r["gates"] if r["certification"] else ""] for r in rows]))


@app.command("schedule")
@command
def schedule(
    course: Annotated[str, typer.Option(help="course code")],
    office: Annotated[str, typer.Option(help="field office code")],
    on: Annotated[str, typer.Option("--on", metavar="DATE", help="first day")],
    instructor: Annotated[str, typer.Option(help="instructor's name")],
    capacity: Annotated[int, typer.Option(help="places")],
    until: Annotated[str | None, typer.Option("--until", metavar="DATE", help="last day (default: the first day)")] = None,
    hours: Annotated[float | None, typer.Option(help="hours per attendee (default: the course's hours)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Schedule a session of a course at an office."""
    from caseload.training.services import do_schedule_session

    row = do_schedule_session(course=course, office=office, starts_on=parse_date(on, "--on"), ends_on=parse_date(until, "--until"),
                              instructor=instructor, capacity=capacity, hours=hours, actor_label=_label("schedule"))
    emit(fmt, row, lambda: _sessions([row]))


@app.command("sessions")
@command
def sessions(
    office: Annotated[str | None, typer.Option(help="field office code")] = None,
    course: Annotated[str | None, typer.Option(help="course code")] = None,
    start: Annotated[str | None, typer.Option("--from", metavar="DATE", help="sessions ending on or after")] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="DATE", help="sessions starting on or before")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Training sessions in date order."""
    from caseload.training.services import list_sessions

    rows = list_sessions(office=office, course=course, start=parse_date(start, "--from"), end=parse_date(end, "--to"))
    emit(fmt, rows, lambda: _sessions(rows))


@app.command("enroll")
@command
def enroll(
    session: Annotated[int, typer.Argument(metavar="SESSION", help="session id")],
    officer: Annotated[list[int], typer.Option(help="officer id (repeat for several)")],
    fmt: FormatOption = Format.text,
) -> None:
    """Enrol officers in a session (refused beyond its capacity)."""
    from caseload.training.services import do_enroll

    doc = do_enroll(session_id=session, officer_ids=officer, actor_label=_label("enroll"))
    emit(fmt, doc, lambda: stderr.print(f"session {doc['session']}: enrolled {doc['enrolled'] or 'nobody new'}"))


@app.command("attend")
@command
def attend(
    session: Annotated[int, typer.Argument(metavar="SESSION", help="session id")],
    officer: Annotated[int, typer.Option(help="officer id")],
    absent: Annotated[bool, typer.Option("--absent", help="record the officer absent (default: present)")] = False,
    completed_on: Annotated[str | None, typer.Option("--completed-on", metavar="DATE",
                                                     help="completion date (default: the session's last day)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Record attendance after a session: present (completed) or absent."""
    from caseload.training.services import do_record_attendance

    doc = do_record_attendance(session_id=session, officer_id=officer, present=not absent,
                               completed_on=parse_date(completed_on, "--completed-on"), actor_label=_label("attend"))
    emit(fmt, doc, lambda: stderr.print(f"officer {doc['officer_id']}: {doc['status']} at session {doc['session']}"))


@app.command("cancel")
@command
def cancel(
    session: Annotated[int, typer.Argument(metavar="SESSION", help="session id")],
    reason: Annotated[str, typer.Option(help="why the session is cancelled")],
    fmt: FormatOption = Format.text,
) -> None:
    """Cancel a session that nobody has attended."""
    from caseload.training.services import do_cancel_session

    row = do_cancel_session(session_id=session, reason=reason, actor_label=_label("cancel"))
    emit(fmt, row, lambda: _sessions([row]))


@app.command("status")
@command
def status(officer: Annotated[int, typer.Option(help="officer id")], as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """One officer's status for every course: current, expiring (within 30 days), overdue or never taken."""
    from caseload.training.services import officer_status

    doc = officer_status(officer, as_of=parse_date(as_of, "--as-of"))
    emit(fmt, doc, lambda: table(f"{doc['name']} ({doc['office']}, {doc['unit']}) as of {doc['as_of']}",
                                 ["course", "required", "last completed", "expires", "status"],
                                 [[c["course"], "yes" if c["required"] else "", c["last_completed_on"] or "",
                                   c["expires_on"] or "", c["status"]] for c in doc["courses"]]))


@app.command("compliance")
@command
def compliance(
    office: Annotated[str | None, typer.Option(help="field office code")] = None,
    course: Annotated[str | None, typer.Option(help="one course only")] = None,
    as_of: AsOf = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Per office: officers who must train, by their worst status (current, expiring, overdue, never)."""
    from caseload.training.services import compliance as compliance_service

    doc = compliance_service(office=office, course=course, as_of=parse_date(as_of, "--as-of"))
    emit(fmt, doc, lambda: table("Training compliance", ["office", "officers", "current", "expiring", "overdue", "never"],
                                 [[o["office"], o["officers"], o["current"], o["expiring"], o["overdue"], o["never"]]
                                  for o in doc["offices"]]))


@app.command("hours")
@command
def hours(
    office: Annotated[str, typer.Option(help="field office code")],
    start: Annotated[str, typer.Option("--from", metavar="DATE", help="first day of the period")],
    end: Annotated[str, typer.Option("--to", metavar="DATE", help="last day of the period (included)")],
    fmt: FormatOption = Format.text,
) -> None:
    """Training hours per officer in a period: the capacity reductions the staffing model subtracts."""
    from caseload.training.services import office_training_hours

    doc = office_training_hours(office=office, start=parse_date(start, "--from"), end=parse_date(end, "--to"))
    emit(fmt, doc, lambda: table(f"Training hours, {doc['office']}, {doc['start']} to {doc['end']}: {doc['total_hours']} h",
                                 ["officer", "name", "hours"], [[o["officer_id"], o["name"], o["hours"]] for o in doc["officers"]]))


@app.command("certified")
@command
def certified(
    certification: Annotated[str, typer.Argument(help="certification course code, e.g. national_security_cases")],
    office: Annotated[str | None, typer.Option(help="field office code")] = None,
    as_of: AsOf = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Officers holding a current certification (the predicate case assignment uses)."""
    from caseload.core import clock
    from caseload.offices.services import access_office
    from caseload.training.services import officers_with_current_certification

    day = parse_date(as_of, "--as-of") or clock.today()
    ids = sorted(officers_with_current_certification(certification, as_of=day,
                                                     office_id=access_office(office).pk if office else None))
    doc = {"certification": certification, "as_of": day.isoformat(), "office": office.upper() if office else None,
           "officers": ids}
    emit(fmt, doc, lambda: stderr.print(f"{len(ids)} officer(s) hold a current {certification} certification on {day}: {ids}"))
