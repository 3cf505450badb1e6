"""Commands of the workload study and staffing model, mounted at the top level of ``caseload``:
``workload weights|adjust|gap``, ``staffing plan|capacity|outliers``, ``balance`` and ``assign``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, parse_date, stderr, table

app = typer.Typer()
workload_app = typer.Typer(no_args_is_help=True, help="Workload study: case weights from the time log and from a panel.")
staffing_app = typer.Typer(no_args_is_help=True, help="Staffing model: FTE need, hiring allocation, capacity, outliers.")
app.add_typer(workload_app, name="workload")
app.add_typer(staffing_app, name="staffing")

WeightsOption = Annotated[str, typer.Option("--weights", help="measured (time study) or adjusted (panel)")]


def _kind(value: str) -> str:
    from caseload.core.errors import UsageError

    if value not in ("measured", "adjusted"):
        raise UsageError("invalid_weights", f"--weights must be measured or adjusted, got {value!r}")
    return value


@workload_app.command("weights")
@command
def weights(
    date_from: Annotated[str | None, typer.Option("--from", metavar="DATE", help="period start (default: 12 months before --to)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", metavar="DATE", help="period end, exclusive (default: the day after "
                                                "the latest time-log entry)")] = None,
    group_by: Annotated[str | None, typer.Option("--group-by", help="case facts defining a case type, comma-separated: "
                                                 "supervision_type, stage, priority, national_security")] = None,
    save: Annotated[bool, typer.Option("--save", help="store the result as the current measured weights")] = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Minutes per case-month by case type from the time log, with bootstrap 90 % intervals."""
    from caseload.staffing import services

    dims = services.parse_group_by(group_by)
    doc = services.measure_weights(start=parse_date(date_from, "--from"), end=parse_date(date_to, "--to"), group_by=dims)
    if save and doc["weights"]:
        ws = services.do_save_weight_set(
            kind="measured", name=f"time study {doc['period']['from']} to {doc['period']['to']}", group_by=dims,
            weights=doc["weights"], period=doc["period"], collateral=doc["collateral_minutes_per_officer_month"],
            provenance=f"measured from the time log {doc['period']['from']} to {doc['period']['to']}", actor_label="cli:workload")
        doc["saved_as"] = ws.pk
    out = {k: doc[k] for k in ("period", "weights", "collateral_minutes_per_officer_month")}
    if "saved_as" in doc:
        out["saved_as"] = doc["saved_as"]
    emit(fmt, out, lambda: (
        table(f"Case weights {doc['period']['from']} to {doc['period']['to']} (minutes per case-month)",
              ["case type", "weight", "90 % low", "90 % high", "case-months"],
              [[w["case_type"], w["minutes_per_case_month"], w["low"], w["high"], round(w["case_months"])] for w in doc["weights"]]),
        stderr.print(f"collateral minutes per officer-month: {doc['collateral_minutes_per_officer_month']}"
                     + (f"; saved as weight set {doc['saved_as']}" if "saved_as" in doc else "")),
    ))


@workload_app.command("adjust")
@command
def adjust(file: Annotated[Path, typer.Argument(help="TOML file of the adjustment panel's weights")],
           fmt: FormatOption = Format.text) -> None:
    """Store an adjustment panel's "what should be" weights, with their provenance."""
    from caseload.staffing import services

    ws = services.do_load_adjusted_weights(file, actor_label="cli:workload")
    doc = {"set": ws.pk, "kind": ws.kind, "name": ws.name, "case_types": ws.weights.count(), "provenance": ws.provenance}
    emit(fmt, doc, lambda: stderr.print(f"stored adjusted weight set {ws.pk}: {doc['case_types']} case types"))


@workload_app.command("gap")
@command
def gap(fmt: FormatOption = Format.text) -> None:
    """Measured against adjusted weights by case type: the gap between what is and what should be."""
    from caseload.staffing import services

    doc = services.weight_gap()
    emit(fmt, doc, lambda: table("Measured vs adjusted (minutes per case-month)",
                                 ["case type", "measured", "adjusted", "gap", "gap %"],
                                 [[r["case_type"], r["measured"], r["adjusted"], r["gap"], r["gap_pct"]] for r in doc["case_types"]]))


def _overrides(values: list[str] | None) -> dict[str, float]:
    from caseload.core.errors import UsageError

    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UsageError("invalid_parameter", f"--param takes SECTION.NAME=NUMBER, got {item!r}")
    return out


@staffing_app.command("plan")
@command
def plan(
    hires: Annotated[int | None, typer.Option(help="new officers to allocate to offices")] = None,
    weights_kind: WeightsOption = "measured",
    max_hires_per_office: Annotated[int | None, typer.Option(help="at most this many hires in any office")] = None,
    limits: Annotated[Path | None, typer.Option(help="TOML file with per-office max_hires and cost")] = None,
    budget: Annotated[float | None, typer.Option(help="total budget for hires (uses each office's cost from --limits, default 1)")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="override a parameter: SECTION.NAME=NUMBER")] = None,
    horizon_months: Annotated[int | None, typer.Option("--horizon-months", help="also plan against the forecast's p50 docket N months ahead (docs/forecast.md)")] = None,
    scenario: Annotated[Path | None, typer.Option("--scenario", metavar="FILE", help="forecast scenario for --horizon-months")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """FTE need, gap and recommended caseload per office; with --hires, the optimal allocation."""
    from caseload.core.errors import UsageError
    from caseload.staffing import services

    if hires is not None and hires < 0:
        raise UsageError("invalid_hires", "--hires must be 0 or more")
    if scenario is not None and horizon_months is None:
        raise UsageError("scenario_needs_horizon", "--scenario is used with --horizon-months only")
    office_limits = None
    if limits is not None:
        try:
            with limits.open("rb") as fh:
                office_limits = tomllib.load(fh).get("offices", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError("invalid_limits_file", f"{limits}: {exc}") from None
    doc = services.staffing_plan(hires=hires, weights_kind=_kind(weights_kind), overrides=_overrides(param),
                                 max_hires_per_office=max_hires_per_office, office_limits=office_limits, budget=budget)
    if horizon_months is not None:
        from caseload.forecast.services import add_horizon

        doc = add_horizon(doc, horizon_months, scenario=scenario, hires=hires, weights_kind=weights_kind,
                          max_hires_per_office=max_hires_per_office)
    emit(fmt, doc, lambda: _render_plan(doc))
    if horizon_months is not None and fmt == Format.text:
        from caseload.forecast.cli import render_horizon

        render_horizon(doc)


def _render_plan(doc: dict) -> None:
    table(f"Staffing plan (year value {doc['year_value_hours']} hours)",
          ["office", "cases", "workload h", "FTE need", "on board", "gap", "rec. caseload", "hires"],
          [[o["office"], o["cases"], o["workload_hours"], o["fte_need"], o["on_board"], o["gap"], o["recommended_caseload"], o["hires"]]
           for o in doc["offices"]])
    n = doc["national"]
    stderr.print(f"national: {n['cases']:,} cases, FTE need {n['fte_need']}, on board {n['on_board']}, gap {n['gap']}")
    w, yv = n["weights"], n["year_value"]
    period = f", period {w['period']['from']} to {w['period']['to']}" if w["period"] else ""
    stderr.print(f"weights: {w['kind']} set {w['set']} ({w['name']}{period}); training hours {yv['training_hours']} "
                 f"({'from the training records' if yv['training_hours_source'] == 'records' else 'default parameter: no training records'})")
    if "allocation" in n:
        a = n["allocation"]
        stderr.print(f"allocation: largest shortfall ratio {a['max_shortfall_ratio']} (proportional rule: "
                     f"{a['proportional']['max_shortfall_ratio']}), total shortfall {a['total_shortfall']} "
                     f"(proportional: {a['proportional']['total_shortfall']})")


@staffing_app.command("capacity")
@command
def capacity(office: Annotated[str | None, typer.Option(help="field office code")] = None,
             weights_kind: WeightsOption = "measured", fmt: FormatOption = Format.text) -> None:
    """Capacity % per officer: weighted load ÷ available casework minutes a month."""
    from caseload.staffing import services

    rows = services.officer_capacity(office=office, weights_kind=_kind(weights_kind))
    emit(fmt, rows, lambda: table("Officer capacity", ["officer", "name", "office", "status", "cases", "capacity %"],
                                  [[r["officer"], r["name"], r["office"], r["status"], r["cases"], r["capacity_pct"]] for r in rows]))


@staffing_app.command("outliers")
@command
def outliers(office: Annotated[str | None, typer.Option(help="field office code")] = None,
             weights_kind: WeightsOption = "measured", fmt: FormatOption = Format.text) -> None:
    """Officers far above their office on caseload, capacity % or overdue-task rate."""
    from caseload.staffing import services

    rows = services.outliers(office=office, weights_kind=_kind(weights_kind))
    emit(fmt, rows, lambda: table("Outliers", ["officer", "name", "office", "metric", "value", "office median", "threshold"],
                                  [[r["officer"], r["name"], r["office"], r["metric"], r["value"], r["office_median"], r["threshold"]]
                                   for r in rows]))


@app.command("balance")
@command
def balance(
    office: Annotated[str, typer.Argument(help="field office code, e.g. ATL")],
    max_moves: Annotated[int | None, typer.Option("--max-moves", help="move at most this many cases")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="perform the moves (one transaction, audited)")] = False,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="solver time budget in seconds")] = None,
    greedy: Annotated[bool, typer.Option("--greedy", help="use the greedy heuristic instead of CP-SAT")] = False,
    weights_kind: WeightsOption = "measured",
    fmt: FormatOption = Format.text,
) -> None:
    """Propose reassignments inside an office that even out officers' capacity % with few moves."""
    from caseload.staffing import services

    doc = services.balance_office(office, max_moves=max_moves, apply=apply, time_limit=time_limit,
                                  weights_kind=_kind(weights_kind), method="greedy" if greedy else "cp-sat")
    keys = ("office", "before", "after", "moves", "lower_bound_moves", "seconds", "moves_detail")
    out = {k: doc[k] for k in keys} | {k: doc[k] for k in ("method", "status", "applied", "officers_not_balanced")}
    emit(fmt, out, lambda: _render_balance(doc))


def _render_balance(doc: dict) -> None:
    b, a = doc["before"], doc["after"]
    stderr.print(f"{doc['office']}: largest capacity {b['max_capacity_pct']}% → {a['max_capacity_pct']}%, "
                 f"max ÷ mean {b['max_over_mean']} → {a['max_over_mean']}; {doc['moves']:,} moves "
                 f"(lower bound {doc['lower_bound_moves']:,}) in {doc['seconds']} s; "
                 + ("applied" if doc["applied"] else "proposal only: add --apply to perform it"))
    table("First moves", ["case", "A-number", "from", "to", "type"],
          [[m["case_id"], m["a_number"], m["from_officer"], m["to_officer"], m["case_type"]] for m in doc["moves_detail"][:20]])


@app.command("assign")
@command
def assign(office: Annotated[str, typer.Argument(help="field office code")],
           dry_run: Annotated[bool, typer.Option("--dry-run", help="show the assignments without making them")] = False,
           limit: Annotated[int | None, typer.Option(help="assign at most this many cases")] = None,
           fmt: FormatOption = Format.text) -> None:
    """Assign the office's unassigned cases, each to the eligible officer with the lowest capacity %."""
    from caseload.staffing import services

    doc = services.assign_unassigned(office, apply=not dry_run, limit=limit)
    emit(fmt, doc, lambda: stderr.print(f"{doc['office']}: {doc['assigned']} cases assigned"
                                        + ("" if doc["applied"] else " (dry run)")
                                        + (f"; {len(doc['unplaced'])} without an eligible officer" if doc["unplaced"] else "")))
