"""Training services: the curriculum, sessions, attendance, officer status and compliance.

Also the two predicates other apps call:

- :func:`holds_current_certification` / :func:`officers_with_current_certification`: the
  assignment code uses them to give national-security cases only to certified officers;
- :func:`training_hours`: the staffing model subtracts these hours from officers' available time.

Status of a completion on a date (docs/training.md): ``expires_on`` = completion date + the
course's recurrence in calendar months (a day missing in the target month becomes its last
day); *overdue* from ``expires_on`` on; *expiring* when ``expires_on`` is at most 30 days away;
*current* otherwise (and always, for a course taken once); *never* without a completion.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import Max

from caseload.core import audit, clock
from caseload.core.errors import Conflict, NotFound, UsageError
from caseload.offices.models import FieldOffice, Officer, OfficerStatus, Unit
from caseload.offices.services import access_office
from caseload.policy.documents import Checker, InvalidDocument, Problem, parse_toml
from caseload.training.models import Attendance, AttendanceStatus, Course, SessionStatus, TrainingSession

DATA_DIR = Path(__file__).with_name("data")
SAMPLE_CURRICULUM = DATA_DIR / "curriculum.toml"
STATUSES = ("current", "expiring", "overdue", "never")  # from best to worst
COURSE_KEYS = ("code", "title", "curriculum", "hours", "recurrence_months", "units", "roles", "certification", "gates",
               "source")


@functools.cache
def expiring_within_days() -> int:
    with (DATA_DIR / "status.toml").open("rb") as fh:
        return int(tomllib.load(fh)["expiring_within_days"])


def _label(actor, actor_label: str | None) -> str:
    return actor_label or (actor.get_username() if actor is not None else "")


# --------------------------------------------------------------------------------------------
# Status arithmetic


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later; the 31st becomes the month's last day where the month is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expires_on(completed_on: dt.date | None, recurrence_months: int | None) -> dt.date | None:
    """First day the completion is no longer current (None: never expires, or never completed)."""
    if completed_on is None or recurrence_months is None:
        return None
    return add_months(completed_on, recurrence_months)


def status_on(completed_on: dt.date | None, recurrence_months: int | None, as_of: dt.date) -> str:
    if completed_on is None:
        return "never"
    expiry = expires_on(completed_on, recurrence_months)
    if expiry is None:
        return "current"
    if as_of >= expiry:
        return "overdue"
    if (expiry - as_of).days <= expiring_within_days():
        return "expiring"
    return "current"


# --------------------------------------------------------------------------------------------
# The curriculum


class InvalidCurriculum(UsageError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("invalid_curriculum", f"{len(problems)} problem(s) in the curriculum file; nothing was loaded",
                         problems=[p.as_dict() for p in problems])
        self.problems = problems


def parse_curriculum(text: str, *, file: str) -> list[dict]:
    """Check a curriculum file ([[course]] tables) and return the courses as model field dicts."""
    data, checker = parse_toml(text, file)
    checker.unknown_keys(data, ("course",), "")
    items = data.get("course")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidDocument([Problem(file, None, "course", "add at least one [[course]] table")])
    courses, seen = [], set()
    roles = _role_names()
    for i, item in enumerate(items):
        courses.append(_course(item, checker, i, seen, roles))
    checker.refuse_if_any()
    return courses


def _role_names() -> tuple[str, ...]:
    from caseload.core.permissions import ROLES

    return tuple(ROLES)


def _course(item: dict, checker: Checker, i: int, seen: set[str], roles: tuple[str, ...]) -> dict:
    prefix, where = f"course[{i}].", {"table": "course", "index": i}
    checker.unknown_keys(item, COURSE_KEYS, prefix, **where)
    code = checker.text(item, "code", prefix, what="course code", max_length=64, **where)
    if code in seen:
        checker.add(f"{prefix}code", f"duplicate course {code!r}", key="code", **where)
    seen.add(code)
    hours = item.get("hours")
    if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 1000:
        checker.add(f"{prefix}hours", f"must be a number of hours greater than 0, got {hours!r}", key="hours", **where)
        hours = 1
    recurrence = item.get("recurrence_months")
    if recurrence is not None and (not isinstance(recurrence, int) or isinstance(recurrence, bool) or not 0 < recurrence <= 240):
        checker.add(f"{prefix}recurrence_months", "must be a whole number of months from 1 to 240 (omit it for a course taken once)",
                    key="recurrence_months", **where)
        recurrence = None
    lists = {}
    for key, allowed in (("units", tuple(Unit.values)), ("roles", roles)):
        value = item.get(key, [])
        if not isinstance(value, list) or any(v not in allowed for v in value):
            checker.add(f"{prefix}{key}", f"must be a list among {', '.join(allowed)}", key=key, **where)
            value = []
        lists[key] = value
    certification = item.get("certification", False)
    if not isinstance(certification, bool):
        checker.add(f"{prefix}certification", "must be true or false", key="certification", **where)
        certification = False
    gates = checker.text(item, "gates", prefix, required=False, max_length=64, **where)
    if gates and not certification:
        checker.add(f"{prefix}gates", "only a certification (certification = true) gates work", key="gates", **where)
    return {"code": code, "title": checker.text(item, "title", prefix, what="title", max_length=200, **where),
            "curriculum": checker.text(item, "curriculum", prefix, what="curriculum", **where),
            "hours": Decimal(str(hours)), "recurrence_months": recurrence, **lists, "certification": certification,
            "gates": gates, "source": checker.text(item, "source", prefix, what="source or assumption", **where)}


def do_import_curriculum(path: Path, *, actor=None, actor_label: str | None = None) -> dict:
    """Create or update the courses of a curriculum file (by code); all or nothing; idempotent."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError("unreadable_file", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        courses = parse_curriculum(text, file=str(path))
    except InvalidDocument as exc:
        raise InvalidCurriculum(exc.problems) from None
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        for fields in courses:
            course = Course.objects.filter(code=fields["code"]).first()
            if course is not None and all(getattr(course, k) == v for k, v in fields.items()) and course.active:
                counts["unchanged"] += 1
                continue
            Course.objects.update_or_create(code=fields["code"], defaults={**fields, "active": True})
            status = "updated" if course else "created"
            counts[status] += 1
            audit.record(action=f"training.course_{status}", actor=actor, actor_label=actor_label, object_type="course",
                         object_id=fields["code"], details={k: v for k, v in fields.items() if k != "curriculum"})
    return counts


def access_course(code: str) -> Course:
    course = Course.objects.filter(code=code).first()
    if course is None:
        raise NotFound("unknown_course", f"no course {code!r}")
    return course


def list_courses() -> list[dict]:
    return [{"code": c.code, "title": c.title, "hours": float(c.hours), "recurrence_months": c.recurrence_months,
             "units": c.units, "roles": c.roles, "certification": c.certification, "gates": c.gates, "source": c.source}
            for c in Course.objects.filter(active=True).order_by("code")]


# --------------------------------------------------------------------------------------------
# Sessions and attendance


def _session_dict(s: TrainingSession) -> dict:
    taken = s.attendance.exclude(status=AttendanceStatus.ABSENT).count()
    return {"id": s.pk, "course": s.course.code, "office": s.office.code, "starts_on": s.starts_on.isoformat(),
            "ends_on": s.ends_on.isoformat(), "instructor": s.instructor, "capacity": s.capacity, "enrolled": taken,
            "hours": float(s.hours), "status": s.status}


def access_session(session_id: int, *, for_update: bool = False) -> TrainingSession:
    qs = TrainingSession.objects.select_related("course", "office")
    if for_update:
        qs = qs.select_for_update()
    session = qs.filter(pk=session_id).first()
    if session is None:
        raise NotFound("unknown_session", f"no training session {session_id}")
    return session


def _officer(officer_id: int) -> Officer:
    officer = Officer.objects.filter(pk=officer_id).first()
    if officer is None:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}")
    if officer.status == OfficerStatus.SEPARATED:
        raise Conflict("officer_separated", f"officer {officer_id} has separated")
    return officer


def do_schedule_session(*, course: str, office: str, starts_on: dt.date, instructor: str, capacity: int,
                        ends_on: dt.date | None = None, hours: float | None = None, actor=None,
                        actor_label: str | None = None) -> dict:
    """Schedule a session of a course at an office; hours default to the course's hours."""
    course_row = access_course(course)
    office_row = access_office(office)
    ends_on = ends_on or starts_on
    if ends_on < starts_on:
        raise UsageError("bad_period", f"the session ends ({ends_on}) before it starts ({starts_on})")
    if capacity <= 0:
        raise UsageError("bad_capacity", "capacity must be at least 1")
    if not instructor.strip():
        raise UsageError("instructor_required", "name the instructor")
    session_hours = Decimal(str(hours)) if hours is not None else course_row.hours
    if session_hours <= 0:
        raise UsageError("bad_hours", "hours must be greater than 0")
    with transaction.atomic():
        session = TrainingSession.objects.create(course=course_row, office=office_row, starts_on=starts_on, ends_on=ends_on,
                                                 instructor=instructor.strip(), capacity=capacity, hours=session_hours)
        audit.record(action="training.session_scheduled", actor=actor, actor_label=actor_label, object_type="training_session",
                     object_id=session.pk, office_id=office_row.pk,
                     details={"course": course_row.code, "starts_on": starts_on, "ends_on": ends_on, "capacity": capacity})
    return _session_dict(session)


def _check_open(session: TrainingSession) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise Conflict("session_cancelled", f"session {session.pk} was cancelled")


def _check_capacity(session: TrainingSession, adding: int) -> None:
    taken = session.attendance.exclude(status=AttendanceStatus.ABSENT).count()
    if taken + adding > session.capacity:
        raise Conflict("session_full", f"session {session.pk} has {session.capacity - taken} place(s) left, "
                                       f"{adding} requested")


def do_enroll(*, session_id: int, officer_ids: Iterable[int], actor=None, actor_label: str | None = None) -> dict:
    """Enrol officers in a session (already enrolled officers are skipped); refused beyond capacity."""
    with transaction.atomic():
        session = access_session(session_id, for_update=True)
        _check_open(session)
        officers = [_officer(i) for i in dict.fromkeys(officer_ids)]
        existing = set(session.attendance.values_list("officer_id", flat=True))
        new = [o for o in officers if o.pk not in existing]
        _check_capacity(session, len(new))
        now, label = clock.now(), _label(actor, actor_label)
        Attendance.objects.bulk_create([Attendance(session=session, officer=o, office_id=o.office_id, recorded_at=now,
                                                   recorded_by=label) for o in new])
        if new:
            audit.record(action="training.enrolled", actor=actor, actor_label=actor_label, object_type="training_session",
                         object_id=session.pk, office_id=session.office_id, details={"officers": [o.pk for o in new]})
    return {"session": session.pk, "enrolled": [o.pk for o in new], "already_enrolled": [o.pk for o in officers if o.pk in existing]}


def do_record_attendance(*, session_id: int, officer_id: int, present: bool, completed_on: dt.date | None = None,
                         actor=None, actor_label: str | None = None) -> dict:
    """Record an officer present (with the completion date, default the session's last day) or absent.

    Attendance is recorded once the session has ended; a completion date lies within the
    session and not after today.
    """
    today = clock.today()
    with transaction.atomic():
        session = access_session(session_id, for_update=True)
        _check_open(session)
        if session.ends_on > today:
            raise Conflict("session_not_ended", f"session {session.pk} ends on {session.ends_on}; record attendance after it")
        officer = _officer(officer_id)
        if present:
            completed_on = completed_on or session.ends_on
            if not session.starts_on <= completed_on <= session.ends_on:
                raise UsageError("bad_completion_date",
                                 f"the completion date must lie within the session ({session.starts_on} to {session.ends_on})")
        elif completed_on is not None:
            raise UsageError("absent_without_completion", "an absent officer has no completion date")
        row = session.attendance.filter(officer=officer).first()
        if row is None:
            if present:
                _check_capacity(session, 1)
            row = Attendance(session=session, officer=officer, office_id=officer.office_id)
        row.status = AttendanceStatus.PRESENT if present else AttendanceStatus.ABSENT
        row.completed_on = completed_on if present else None
        row.recorded_at, row.recorded_by = clock.now(), _label(actor, actor_label)
        row.save()
        audit.record(action="training.attendance_recorded", actor=actor, actor_label=actor_label, object_type="officer",
                     object_id=officer.pk, office_id=officer.office_id,
                     details={"session": session.pk, "course": session.course.code, "status": row.status,
                              "completed_on": row.completed_on})
    return {"session": session.pk, "officer_id": officer.pk, "status": row.status,
            "completed_on": row.completed_on.isoformat() if row.completed_on else None}


def do_cancel_session(*, session_id: int, reason: str, actor=None, actor_label: str | None = None) -> dict:
    """Cancel a session; its enrolments no longer count as training hours."""
    if not reason.strip():
        raise UsageError("reason_required", "a reason is required")
    with transaction.atomic():
        session = access_session(session_id, for_update=True)
        _check_open(session)
        if session.attendance.filter(status=AttendanceStatus.PRESENT).exists():
            raise Conflict("session_attended", f"session {session.pk} has recorded attendance; it cannot be cancelled")
        session.status, session.cancel_reason = SessionStatus.CANCELLED, reason.strip()[:300]
        session.save(update_fields=["status", "cancel_reason"])
        audit.record(action="training.session_cancelled", actor=actor, actor_label=actor_label, object_type="training_session",
                     object_id=session.pk, office_id=session.office_id, details={"reason": session.cancel_reason})
    return _session_dict(session)


def list_sessions(*, office: str | None = None, course: str | None = None, start: dt.date | None = None,
                  end: dt.date | None = None) -> list[dict]:
    qs = TrainingSession.objects.select_related("course", "office").order_by("starts_on", "id")
    if office:
        qs = qs.filter(office=access_office(office))
    if course:
        qs = qs.filter(course=access_course(course))
    if start:
        qs = qs.filter(ends_on__gte=start)
    if end:
        qs = qs.filter(starts_on__lte=end)
    return [_session_dict(s) for s in qs]


# --------------------------------------------------------------------------------------------
# Status and compliance


def _completions(as_of: dt.date, officer_ids: Iterable[int] | None = None, course_ids: Iterable[int] | None = None) -> dict:
    """{(officer_id, course_id): latest completion date on or before ``as_of``}."""
    qs = Attendance.objects.filter(status=AttendanceStatus.PRESENT, completed_on__lte=as_of)
    if officer_ids is not None:
        qs = qs.filter(officer_id__in=list(officer_ids))
    if course_ids is not None:
        qs = qs.filter(session__course_id__in=list(course_ids))
    rows = qs.values("officer_id", "session__course_id").annotate(last=Max("completed_on"))
    return {(r["officer_id"], r["session__course_id"]): r["last"] for r in rows}


def _roles_by_officer(officer_ids: Iterable[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for officer_id, role in Officer.objects.filter(pk__in=list(officer_ids), user__isnull=False) \
            .values_list("id", "user__groups__name"):
        if role:
            out.setdefault(officer_id, set()).add(role)
    return out


def required(course: Course, unit: str, roles: set[str]) -> bool:
    return unit in course.units or bool(roles & set(course.roles))


def officer_status(officer_id: int, *, as_of: dt.date | None = None) -> dict:
    """Every active course for one officer: required or not, last completion, expiry, status."""
    as_of = as_of or clock.today()
    officer = Officer.objects.select_related("office").filter(pk=officer_id).first()
    if officer is None:
        raise NotFound("unknown_officer", f"no officer with id {officer_id}")
    roles = _roles_by_officer([officer.pk]).get(officer.pk, set())
    done = _completions(as_of, [officer.pk])
    courses = []
    for c in Course.objects.filter(active=True).order_by("code"):
        last = done.get((officer.pk, c.pk))
        expiry = expires_on(last, c.recurrence_months)
        courses.append({"course": c.code, "title": c.title, "required": required(c, officer.unit, roles),
                        "certification": c.certification, "last_completed_on": last.isoformat() if last else None,
                        "expires_on": expiry.isoformat() if expiry else None,
                        "status": status_on(last, c.recurrence_months, as_of)})
    return {"officer_id": officer.pk, "name": officer.name, "office": officer.office.code, "unit": officer.unit,
            "as_of": as_of.isoformat(), "courses": courses}


def compliance(*, office: str | None = None, course: str | None = None, as_of: dt.date | None = None) -> dict:
    """Per office: officers who must take training, by their worst status across the courses they must take.

    ``officers`` counts the office's officers (not separated) who must take at least one of the
    courses considered (one course with ``course``); each is counted once, under the worst of
    never > overdue > expiring > current, so the four figures add up to ``officers``.
    """
    as_of = as_of or clock.today()
    courses = [access_course(course)] if course else list(Course.objects.filter(active=True))
    offices = [access_office(office)] if office else list(FieldOffice.objects.filter(active=True).order_by("code"))
    officers = list(Officer.objects.filter(office__in=offices).exclude(status=OfficerStatus.SEPARATED)
                    .values_list("id", "office_id", "unit"))
    roles = _roles_by_officer([o[0] for o in officers])
    done = _completions(as_of, course_ids=[c.pk for c in courses])
    rank = {s: i for i, s in enumerate(STATUSES)}
    tally = {o.pk: dict.fromkeys(("officers", *STATUSES), 0) for o in offices}
    for officer_id, office_id, unit in officers:
        statuses = [status_on(done.get((officer_id, c.pk)), c.recurrence_months, as_of)
                    for c in courses if required(c, unit, roles.get(officer_id, set()))]
        if not statuses:
            continue
        worst = max(statuses, key=rank.__getitem__)
        tally[office_id]["officers"] += 1
        tally[office_id][worst] += 1
    return {"offices": [{"office": o.code, **tally[o.pk]} for o in offices]}


# --------------------------------------------------------------------------------------------
# Predicates for other apps


def access_certification(certification: str) -> Course:
    course = Course.objects.filter(code=certification, certification=True).first()
    if course is None:
        raise NotFound("unknown_certification", f"no certification course {certification!r}")
    return course


def holds_current_certification(officer_id: int, certification: str, *, as_of: dt.date) -> bool:
    """Whether the officer's latest completion of the certification course is current on ``as_of``
    (current or expiring: an expiring certification still holds)."""
    course = access_certification(certification)
    last = _completions(as_of, [officer_id], [course.pk]).get((officer_id, course.pk))
    return status_on(last, course.recurrence_months, as_of) in ("current", "expiring")


def officers_with_current_certification(certification: str, *, as_of: dt.date, office_id: int | None = None) -> set[int]:
    """Ids of the officers (of one office, if given) holding a current certification on ``as_of``."""
    course = access_certification(certification)
    qs = Attendance.objects.filter(status=AttendanceStatus.PRESENT, completed_on__lte=as_of, session__course=course)
    if office_id is not None:
        qs = qs.filter(officer__office_id=office_id)
    latest = qs.values("officer_id").annotate(last=Max("completed_on")).values_list("officer_id", "last")
    return {officer_id for officer_id, last in latest
            if status_on(last, course.recurrence_months, as_of) in ("current", "expiring")}


def training_hours(officer_ids: Iterable[int], *, start: dt.date, end: dt.date) -> dict[int, float]:
    """Training hours per officer between ``start`` and ``end`` (both included): capacity reductions.

    Counts sessions that are not cancelled where the officer is enrolled or was present (an
    absence takes no training time). A session spanning several days contributes its hours in
    proportion to its days inside the period. Every requested officer is in the result.
    """
    if end < start:
        raise UsageError("bad_period", f"the period ends ({end}) before it starts ({start})")
    ids = list(dict.fromkeys(int(i) for i in officer_ids))
    hours = dict.fromkeys(ids, 0.0)
    rows = (Attendance.objects.filter(officer_id__in=ids, status__in=[AttendanceStatus.ENROLLED, AttendanceStatus.PRESENT],
                                      session__status=SessionStatus.SCHEDULED, session__starts_on__lte=end,
                                      session__ends_on__gte=start)
            .values_list("officer_id", "session__starts_on", "session__ends_on", "session__hours"))
    for officer_id, first, last, session_hours in rows:
        days = (last - first).days + 1
        inside = (min(last, end) - max(first, start)).days + 1
        hours[officer_id] += float(session_hours) * inside / days
    return {k: round(v, 4) for k, v in hours.items()}


def office_training_hours(*, office: str, start: dt.date, end: dt.date) -> dict:
    """:func:`training_hours` for every officer of an office (not separated)."""
    office_row = access_office(office)
    officers = list(Officer.objects.filter(office=office_row).exclude(status=OfficerStatus.SEPARATED)
                    .order_by("last_name", "first_name", "id"))
    hours = training_hours([o.pk for o in officers], start=start, end=end)
    return {"office": office_row.code, "start": start.isoformat(), "end": end.isoformat(),
            "officers": [{"officer_id": o.pk, "name": o.name, "hours": hours[o.pk]} for o in officers],
            "total_hours": round(sum(hours.values()), 4)}

