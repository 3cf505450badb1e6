"""``caseload countries …``: removal analytics, the cooperation report, escalation packages,
travel-document lifecycle, tiers, escalation tasks and foreseeability reviews (docs/countries.md).
Thin wrappers over the services."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, stdout, table

app = typer.Typer(no_args_is_help=True, help="Countries: cooperation, travel documents, escalation, foreseeability reviews.")
td_app = typer.Typer(no_args_is_help=True, help="Travel-document requests: request, interview, issue, refuse, withdraw.")
tier_app = typer.Typer(no_args_is_help=True, help="Cooperation tiers, versioned with date and source.")
task_app = typer.Typer(no_args_is_help=True, help="Escalation tasks of refused or stalled requests.")
review_app = typer.Typer(no_args_is_help=True, help="Foreseeability reviews of final-order cases.")
app.add_typer(td_app, name="td")
app.add_typer(tier_app, name="tier")
app.add_typer(task_app, name="task")
app.add_typer(review_app, name="review")

AsOf = Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="evaluate on this date (default today)")]
On = Annotated[str | None, typer.Option("--on", metavar="DATE", help="date of the event (default today)")]


def _label(name: str) -> str:
    return f"cli:countries {name}"


# --- Analytics ---------------------------------------------------------------------------------

@app.command("removals")
@command
def removals_cmd(fiscal_year: Annotated[int | None, typer.Option("--fiscal-year", metavar="Y",
                                                                 help="fiscal year (default: the latest imported)")] = None,
                 fmt: FormatOption = Format.text) -> None:
    """Imported removals of a fiscal year by country, office and country x disposition, with days from apprehension to removal."""
    from caseload.countries.removals import removals

    doc = removals(fiscal_year=fiscal_year)
    emit(fmt, doc, lambda: (
        table(f"Removals FY{doc['fiscal_year']}: {doc['total']:,}", ["country", "removals", "median days", "p90 days"],
              [[r["country"], r["removals"], r["median_days"], r["p90_days"]] for r in doc["by_country"][:40]]),
        table("By office", ["office", "removals"], [[r["office"] or "(blank)", r["removals"]] for r in doc["by_office"]]),
    ))


@app.command("durations")
@command
def durations_cmd(fiscal_year: Annotated[int | None, typer.Option("--fiscal-year", metavar="Y")] = None,
                  out: Annotated[Path | None, typer.Option("--out", help="also write the figures to this JSON file")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Apprehension-to-removal days by cooperation tier (log-normal fit), to calibrate travel-document delays."""
    from caseload.countries.removals import durations_by_tier, write_durations

    doc = durations_by_tier(fiscal_year=fiscal_year)
    if out:
        write_durations(doc, out)
        stderr.print(f"written to {out}")
    emit(fmt, doc, lambda: table(f"Days from apprehension to removal, FY{doc['fiscal_year']}, by tier",
                                 ["tier", "removals", "with days", "median", "p90", "log-normal sigma"],
                                 [[t, f["removals"], f["with_days"], f["median_days"], f["p90_days"], f["lognormal_sigma"]]
                                  for t, f in doc["by_tier"].items()]))


@app.command("report")
@command
def report_cmd(as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """Per country: official and suggested tier, open final orders, pending requests, median days to issue, refusal rate, quota left."""
    from caseload.countries.services import report

    rows = report(as_of=parse_date(as_of, "--as-of"))
    emit(fmt, rows, lambda: table(
        "Country cooperation", ["country", "tier", "suggested", "final orders", "pending", "median days", "refusal rate",
                                "pending > 90 d", "quota left"],
        [[r["country"], r["tier"] + (" (estimate)" if r["tier_estimate"] else ""),
          r["suggested_tier"] or f"- ({r['suggested_tier_held_back']})", r["open_final_orders"], r["pending_requests"],
          r["median_days_to_issue"], r["refusal_rate"], r["pending_over_90_days"], r["quota_remaining"]] for r in rows]))


class PackageFormat(str, enum.Enum):
    text = "text"
    json = "json"
    csv = "csv"
    html = "html"


@app.command("escalation")
@command
def escalation_cmd(country: Annotated[str, typer.Argument(help="ISO code (e.g. HT) or name")], as_of: AsOf = None,
                   fmt: Annotated[PackageFormat, typer.Option("--format", help="text, json, csv (the case list) or html")] = PackageFormat.text) -> None:
    """The package for diplomatic action: counts, ageing, refusal history, cases by A-number only."""
    from caseload.countries.escalation import escalation_package, package_csv, package_html, record_package_export
    from caseload.countries.services import access_country

    package = escalation_package(country=access_country(country), as_of=parse_date(as_of, "--as-of"))
    record_package_export(package, fmt=fmt.value, via="countries escalation", actor_label=_label("escalation"))
    if fmt == PackageFormat.json:
        print(json.dumps(package))
    elif fmt == PackageFormat.csv:
        sys.stdout.write(package_csv(package))
    elif fmt == PackageFormat.html:
        sys.stdout.write(package_html(package))
    else:
        c = package["counts"]
        stdout.print(f"{package['name']} ({package['country']}), as of {package['as_of']}: tier {package['tier']}, "
                     f"suggested {package['suggested_tier'] or '-'}")
        table("Counts", ["figure", "value"], [[k, v] for k, v in c.items() if not isinstance(v, dict)]
              + [[f"open {s}", n] for s, n in c["open_escalations"].items()])
        table("Ageing of pending requests", ["days", "pending"], [[a["days"], a["pending"]] for a in package["ageing"]])
        table("Refusal history", ["fiscal year", "issued", "refused", "refusal rate"],
              [[str(h["fiscal_year"]), h["issued"], h["refused"], h["refusal_rate"]] for h in package["refusal_history"]])
        table("Cases", ["A-number", "office", "status", "requested", "days waiting", "refusals", "escalation"],
              [[x["a_number"], x["office"], x["request_status"], x["requested_on"], x["days_waiting"], x["refusals"],
                x["escalation_step"] or ""] for x in package["cases"]])


@app.command("sweep")
@command
def sweep_cmd(as_of: AsOf = None, fmt: FormatOption = Format.text) -> None:
    """Daily: expire documents, open and advance escalations, flag cases for foreseeability review."""
    from caseload.countries.sweep import do_sweep

    doc = do_sweep(as_of=parse_date(as_of, "--as-of"), actor_label=_label("sweep"))
    emit(fmt, doc, lambda: table(f"Sweep as of {doc['as_of']}", ["step", "count"], [[k, v] for k, v in doc.items() if k != "as_of"]))


# --- Travel documents --------------------------------------------------------------------------

def _show_request(fmt: Format, doc: dict, title: str) -> None:
    emit(fmt, doc, lambda: table(title, ["field", "value"],
                                 [[k, v] for k, v in doc.items() if k != "escalations"]
                                 + [[f"escalation {e['id']}", f"{e['step']} {e['status']} due {e['due_on']}"] for e in doc["escalations"]]))


@td_app.command("request")
@command
def td_request(case: Annotated[int, typer.Argument(help="case id")],
               country: Annotated[str | None, typer.Option(help="country asked (default: the person's citizenship)")] = None,
               on: On = None, fmt: FormatOption = Format.text) -> None:
    """Request a travel document for an open final-order case (refused under a stay, appeal or open citizenship claim)."""
    from caseload.countries import travel_documents as td

    request = td.do_request_travel_document(case=td.access_case(case), country=country, on=parse_date(on, "--on"),
                                            actor_label=_label("td request"))
    _show_request(fmt, td.request_detail(request), f"Travel-document request {request.pk}")


@td_app.command("interview")
@command
def td_interview(request: Annotated[int, typer.Argument(help="request id")],
                 on: Annotated[str, typer.Option("--on", metavar="DATE", help="interview date")],
                 fmt: FormatOption = Format.text) -> None:
    """Schedule the consular interview (a removal step: the due-process guards apply)."""
    from caseload.countries import travel_documents as td

    r = td.do_schedule_interview(request=td.access_request(request), on=parse_date(on, "--on"), actor_label=_label("td interview"))
    _show_request(fmt, td.request_detail(r), f"Travel-document request {r.pk}")


@td_app.command("issue")
@command
def td_issue(request: Annotated[int, typer.Argument(help="request id")],
             expires: Annotated[str, typer.Option("--expires", metavar="DATE", help="the document's expiry date")],
             on: On = None, fmt: FormatOption = Format.text) -> None:
    """Record an issued document (counts against the country's annual quota)."""
    from caseload.countries import travel_documents as td

    r = td.do_issue(request=td.access_request(request), expires_on=parse_date(expires, "--expires"),
                    on=parse_date(on, "--on"), actor_label=_label("td issue"))
    _show_request(fmt, td.request_detail(r), f"Travel-document request {r.pk}")


@td_app.command("refuse")
@command
def td_refuse(request: Annotated[int, typer.Argument(help="request id")],
              reason: Annotated[str, typer.Option("--reason", help="the consulate's reason")],
              on: On = None, fmt: FormatOption = Format.text) -> None:
    """Record a refusal; the first escalation step (consulate contact) opens."""
    from caseload.countries import travel_documents as td

    r = td.do_refuse(request=td.access_request(request), reason=reason, on=parse_date(on, "--on"), actor_label=_label("td refuse"))
    _show_request(fmt, td.request_detail(r), f"Travel-document request {r.pk}")


@td_app.command("withdraw")
@command
def td_withdraw(request: Annotated[int, typer.Argument(help="request id")],
                reason: Annotated[str, typer.Option("--reason", help="why the request is withdrawn")],
                on: On = None, fmt: FormatOption = Format.text) -> None:
    """Withdraw a pending request or an unused document; its open escalation tasks are cancelled."""
    from caseload.countries import travel_documents as td

    r = td.do_withdraw(request=td.access_request(request), reason=reason, on=parse_date(on, "--on"), actor_label=_label("td withdraw"))
    _show_request(fmt, td.request_detail(r), f"Travel-document request {r.pk}")


@td_app.command("show")
@command
def td_show(request: Annotated[int, typer.Argument(help="request id")], fmt: FormatOption = Format.text) -> None:
    """A request with its queue position under the country's quota and its escalation tasks."""
    from caseload.countries import travel_documents as td

    from caseload.core.audit import record_read
    from caseload.docket import anumber

    detail = td.request_detail(td.access_request(request))
    record_read(action="case.read", via="countries td show", case_ids=[detail["case"]],
                a_numbers=[anumber.normalize(detail["a_number"])])
    _show_request(fmt, detail, f"Travel-document request {request}")


@td_app.command("queue")
@command
def td_queue(country: Annotated[str, typer.Argument(help="ISO code or name")], as_of: AsOf = None,
             fmt: FormatOption = Format.text) -> None:
    """Pending requests of a country in queue order, and which ones this quota year's remaining quota covers."""
    from caseload.countries import travel_documents as td
    from caseload.countries.services import access_country

    from caseload.core.audit import record_read
    from caseload.docket import anumber

    doc = td.quota_queue(country=access_country(country), as_of=parse_date(as_of, "--as-of"))
    record_read(action="case.list", via="countries td queue", case_ids=[q["case"] for q in doc["queue"]],
                a_numbers=[anumber.normalize(q["a_number"]) for q in doc["queue"]])
    emit(fmt, doc, lambda: table(
        f"{doc['country']} queue: quota {doc['quota'] if doc['quota'] is not None else 'none'}, "
        f"issued {doc['issued']} in {doc['quota_year'][0]}..{doc['quota_year'][1]}, remaining {doc['quota_remaining']}",
        ["position", "request", "A-number", "office", "requested", "status", "within quota"],
        [[q["position"], q["request"], q["a_number"], q["office"], q["requested_on"], q["status"], q["within_quota"]]
         for q in doc["queue"]]))


# --- Tiers -------------------------------------------------------------------------------------

@tier_app.command("set")
@command
def tier_set(country: Annotated[str, typer.Argument(help="ISO code or name")],
             tier: Annotated[str, typer.Argument(help="cooperative, delayed, restricted or uncooperative")],
             effective: Annotated[str, typer.Option("--effective", metavar="DATE", help="in force from this date")],
             source: Annotated[str, typer.Option("--source", help="the document that sets the tier")],
             quota: Annotated[int | None, typer.Option("--quota", help="annual travel-document quota (restricted tier)")] = None,
             fmt: FormatOption = Format.text) -> None:
    """Record a new tier version for a country (the history keeps every version)."""
    from caseload.countries.services import access_country, do_set_tier, tier_history

    target = access_country(country)
    do_set_tier(country=target, tier=tier, effective_on=parse_date(effective, "--effective"), source=source, quota=quota,
                actor_label=_label("tier set"))
    doc = {"country": target.code, "tier": target.cooperation_tier, "annual_document_quota": target.annual_document_quota,
           "history": tier_history(target)}
    emit(fmt, doc, lambda: _history_table(doc))


@tier_app.command("history")
@command
def tier_history_cmd(country: Annotated[str, typer.Argument(help="ISO code or name")], fmt: FormatOption = Format.text) -> None:
    """Every tier version of a country, with date and source."""
    from caseload.countries.services import access_country, tier_history

    target = access_country(country)
    doc = {"country": target.code, "tier": target.cooperation_tier, "annual_document_quota": target.annual_document_quota,
           "history": tier_history(target)}
    emit(fmt, doc, lambda: _history_table(doc))


def _history_table(doc: dict) -> None:
    table(f"{doc['country']}: {doc['tier']} now", ["effective", "tier", "quota", "source", "recorded by"],
          [[h["effective_on"], h["tier"], h["annual_document_quota"], h["source"], h["recorded_by"]] for h in doc["history"]])


# --- Escalation tasks --------------------------------------------------------------------------

@task_app.command("list")
@command
def task_list(country: Annotated[str | None, typer.Option(help="ISO code or name")] = None,
              office: Annotated[str | None, typer.Option(help="field office code")] = None,
              status: Annotated[str, typer.Option(help="open, resolved, unresolved, lapsed, cancelled or all")] = "open",
              limit: Annotated[int, typer.Option(help="at most this many")] = 1000,
              fmt: FormatOption = Format.text) -> None:
    """Escalation tasks, earliest due date first."""
    from caseload.countries.escalation import list_tasks
    from caseload.countries.services import access_country
    from caseload.offices.services import access_office

    rows = list_tasks(country=access_country(country).code if country else None,
                      office=access_office(office).code if office else None,
                      status=None if status == "all" else status, limit=limit)
    emit(fmt, rows, lambda: table("Escalation tasks", ["id", "A-number", "office", "country", "step", "reason", "due", "status"],
                                  [[t["id"], t["a_number"], t["office"], t["country"], t["step"], t["reason"], t["due_on"],
                                    t["status"] + (" (overdue)" if t["overdue"] else "")] for t in rows]))


@task_app.command("close")
@command
def task_close(task: Annotated[int, typer.Argument(help="task id")],
               outcome: Annotated[str, typer.Option("--outcome", help="resolved, or unresolved (opens the next step)")],
               note: Annotated[str, typer.Option("--note", help="what was done and the answer")],
               fmt: FormatOption = Format.text) -> None:
    """Record a step's outcome; an unresolved step opens the next one."""
    from caseload.countries.escalation import access_task, do_close_task, tasks_of_request

    closed, nxt = do_close_task(task=access_task(task), outcome=outcome, note=note, actor_label=_label("task close"))
    doc = {"task": closed.pk, "status": closed.status, "next_task": nxt.pk if nxt else None,
           "tasks": tasks_of_request(closed.request_id)}
    emit(fmt, doc, lambda: table(f"Escalation of request {closed.request_id}", ["id", "step", "status", "due", "note"],
                                 [[t["id"], t["step"], t["status"], t["due_on"], t["note"]] for t in doc["tasks"]]))


# --- Foreseeability reviews --------------------------------------------------------------------

@review_app.command("list")
@command
def review_list(office: Annotated[str | None, typer.Option(help="field office code")] = None,
                status: Annotated[str, typer.Option(help="open, decided or all")] = "open",
                limit: Annotated[int, typer.Option(help="at most this many")] = 1000,
                fmt: FormatOption = Format.text) -> None:
    """Foreseeability reviews, most serious criminal history first."""
    from caseload.countries.foreseeability import list_reviews
    from caseload.offices.services import access_office

    rows = list_reviews(office=access_office(office).code if office else None, status=None if status == "all" else status,
                        limit=limit)
    emit(fmt, rows, lambda: table("Foreseeability reviews", ["id", "A-number", "office", "country", "reasons", "felonies",
                                                             "aggravated", "flagged", "status"],
                                  [[r["id"], r["a_number"], r["office"], r["country"], ", ".join(r["reasons"]), r["felonies"],
                                    r["aggravated_felonies"], r["flagged_on"], r["status"]] for r in rows]))


@review_app.command("show")
@command
def review_show(review: Annotated[int, typer.Argument(help="review id")], fmt: FormatOption = Format.text) -> None:
    """A review with the criminal-history facts and travel-document history it was flagged with."""
    from caseload.countries.foreseeability import access_review, review_detail

    doc = review_detail(access_review(review))
    emit(fmt, doc, lambda: _review_table(doc))


@review_app.command("decide")
@command
def review_decide(review: Annotated[int, typer.Argument(help="review id")],
                  decision: Annotated[str, typer.Option("--decision", help="removal_foreseeable or removal_not_foreseeable")],
                  rationale: Annotated[str, typer.Option("--rationale", help="the reasons for the decision (at least 30 words)")],
                  by: Annotated[str, typer.Option("--by", metavar="USERNAME",
                                                  help="the decider: a supervisor or headquarters user, not the case's officer")],
                  criminal_history_reviewed: Annotated[bool, typer.Option(
                      "--criminal-history-reviewed", help="confirm the criminal history was reviewed")] = False,
                  consulate_contacted_on: Annotated[str | None, typer.Option(
                      "--consulate-contacted-on", metavar="DATE", help="when the consulate was contacted")] = None,
                  escalation_level: Annotated[str | None, typer.Option(
                      "--escalation-level", help="the escalation level reached on the case (none, consulate_contact, "
                                                 "headquarters_review, diplomatic_escalation)")] = None,
                  risk: Annotated[str | None, typer.Option("--risk", help="risk assessment: low, moderate or high")] = None,
                  fmt: FormatOption = Format.text) -> None:
    """Record the review's decision with its checklist and rationale (a release decision needs it on record)."""
    from django.contrib.auth import get_user_model

    from caseload.core.errors import NotFound
    from caseload.countries.foreseeability import access_review, do_decide_review, review_detail

    decider = get_user_model().objects.filter(username=by).first()
    if decider is None:
        raise NotFound("unknown_user", f"no user {by!r}")
    checklist = {"criminal_history_reviewed": criminal_history_reviewed or None,
                 "consulate_contacted_on": consulate_contacted_on, "escalation_level": escalation_level,
                 "risk_assessment": risk}
    doc = review_detail(do_decide_review(review=access_review(review), decision=decision, rationale=rationale,
                                         checklist=checklist, actor=decider))
    emit(fmt, doc, lambda: _review_table(doc))


def _review_table(doc: dict) -> None:
    rows = [[k, v] for k, v in doc.items() if k not in ("facts", "criminal_history")]
    rows += [[k, v] for k, v in doc["criminal_history"].items()]
    rows += [[f"conviction {c['convicted_on']}", f"{c['offense_category']} ({c['severity']}), custody {c['custody_days']} d"]
             for c in doc["facts"].get("convictions", [])]
    table(f"Foreseeability review {doc['id']}", ["field", "value"], rows)
