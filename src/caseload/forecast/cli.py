"""``caseload forecast run|compare|backtest``: the backlog forecast (docs/forecast.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, command, emit, stderr, table

app = typer.Typer(no_args_is_help=True, help="Backlog forecast: the docket under a hiring plan, a priority policy and "
                                             "country cooperation.")

MonthsOption = Annotated[int, typer.Option("--months", help="months to forecast (month 1 is the month after today)")]
RepsOption = Annotated[int, typer.Option("--reps", help="Monte Carlo repetitions")]
SeedOption = Annotated[int, typer.Option("--seed", help="random seed; the same seed gives the same output")]
ExecutorOption = Annotated[str, typer.Option("--executor", help="local, or dask (a dask.distributed cluster)")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", help="dask scheduler address (default: a local cluster of 2 workers)")]


def _progress(reps: int, fmt: Format):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=stderr, transient=fmt == Format.json)
    return bar


def _headline(doc: dict, title: str) -> None:
    rows = []
    for r in doc["national"]:
        if r["month"] in (1, 12, 24, 36, 48, 60) or r["month"] == len(doc["national"]):
            rows.append([r["month"], *(f"{r[k]['p50']:,}" if r[k]["p50"] is not None else "" for k in
                                       ("open_cases", "final_orders", "removals", "cases_per_officer", "capacity_pct",
                                        "fte_need"))])
    table(title, ["month", "open cases", "final orders", "removals", "cases per officer", "capacity %", "FTE need"], rows)


@app.command("run")
@command
def run(
    months: MonthsOption = 60,
    reps: RepsOption = 1000,
    seed: SeedOption = 1,
    scenario: Annotated[Path | None, typer.Option("--scenario", metavar="FILE", help="scenario TOML file")] = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Forecast the docket month by month: p10 / p50 / p90 nationally and per office."""
    from caseload.forecast import services

    services.check_run(months=months, reps=reps, executor=executor, scheduler=scheduler)
    with _progress(reps, fmt) as bar:
        task = bar.add_task("forecasting", total=reps)
        doc = services.run_forecast(months=months, reps=reps, seed=seed, scenario=scenario, executor=executor,
                                    scheduler=scheduler, progress=lambda n: bar.update(task, advance=n))
    emit(fmt, doc, lambda: (
        _headline(doc, f"Forecast ({doc['scenario']['id']}), p50 of {reps:,} repetitions, seed {seed}"),
        stderr.print(f"{doc['seconds']} s; per office and p10/p90: --format json"),
    ))


@app.command("compare")
@command
def compare(
    scenario: Annotated[list[str], typer.Option("--scenario", metavar="FILE",
                                                help="a scenario file, or 'baseline'; give it twice (A, then B)")],
    months: MonthsOption = 60,
    reps: RepsOption = 1000,
    seed: SeedOption = 1,
    fmt: FormatOption = Format.text,
) -> None:
    """Two scenarios month by month on the same docket and seed: the p50 of each and B - A."""
    from caseload.forecast import services

    with _progress(2 * reps, fmt) as bar:
        task = bar.add_task("forecasting", total=2 * reps)
        doc = services.compare_forecasts(scenario, months=months, reps=reps, seed=seed,
                                         progress=lambda n: bar.update(task, advance=n))
    a, b = (s["id"] for s in doc["scenarios"])

    def render() -> None:
        rows = [[r["month"], *(f"{r[k]['difference']:+,}" if r[k]["difference"] is not None else "" for k in
                               ("open_cases", "removals", "cases_per_officer", "capacity_pct", "fte_need"))]
                for r in doc["national"] if r["month"] % 12 == 0 or r["month"] in (1, len(doc["national"]))]
        table(f"{b} minus {a} (p50)", ["month", "open cases", "removals", "cases per officer", "capacity %", "FTE need"],
              rows)

    emit(fmt, doc, render)


@app.command("backtest")
@command
def backtest(
    fit: Annotated[list[Path], typer.Option("--fit", metavar="FILE", help="removal extracts to fit on (repeat the flag)")],
    test: Annotated[list[Path], typer.Option("--test", metavar="FILE", help="removal extracts to score (repeat the flag)")],
    fmt: FormatOption = Format.text,
) -> None:
    """Fit the removal flows on some extracts and score monthly removals on others, against seasonal naive."""
    from caseload.forecast import backtesting

    doc = backtesting.backtest(fit, test, progress=lambda message: stderr.print(message) if fmt == Format.text else None)
    emit(fmt, doc, lambda: (
        stderr.print(f"fit {doc['fit_period']['from']} to {doc['fit_period']['to']}; "
                     f"test {doc['test_period']['from']} to {doc['test_period']['to']}"),
        table("Monthly removals: mean absolute percentage error", ["series", "model MAPE %", "seasonal naive MAPE %"],
              [["national", doc["mape"], doc["seasonal_naive_mape"]],
               *[[c["country"], c["mape"], c["seasonal_naive_mape"]] for c in doc["by_country"]]]),
    ))


def render_horizon(doc: dict) -> None:
    """The horizon part of ``caseload staffing plan --horizon-months N`` for people."""
    h = doc["horizon"]
    table(f"Need at month {h['months']} ({h['month']}, {h['basis']}, scenario {h['scenario']['id']})",
          ["office", "cases", "FTE need", "officers", "gap", "hires"],
          [[o["office"], o["cases"], o["fte_need"], o["officers"], o["gap"], o["hires"]] for o in h["offices"]])
    n = h["national"]
    stderr.print(f"at the horizon: {n['cases']:,} cases, FTE need {n['fte_need']}, officers {n['officers']}, gap {n['gap']}")
