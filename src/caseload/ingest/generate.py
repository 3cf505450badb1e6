"""Write the synthetic national docket into the database (``caseload generate``)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.apps import apps
from django.db import connection, models, transaction

from caseload.core import audit, bulk, clock
from caseload.core.errors import CaseloadError, UsageError
from caseload.core.reference import load_reference_data
from caseload.countries.models import Country
from caseload.countries.services import tiers_by_code
from caseload.docket import taxonomy
from caseload.docket.models import Case, Person
from caseload.ingest import synthetic
from caseload.offices.models import FieldOffice, Officer
from caseload.policy.services import do_load_shipped
from caseload.workload.activities import activities

DEFAULT_WEIGHTS_PATH = Path("var") / "true_case_weights.json"
# The models the generator fills; everything that references them is cleared by --replace.
GENERATED_ROOTS = ("offices.Officer", "docket.Person")

Progress = Callable[[int, str], None]


@dataclass
class GenerateResult:
    cases: int = 0
    people: int = 0
    officers: int = 0
    offices: int = 0
    convicted: int = 0
    final_orders: int = 0
    time_log_entries: int = 0
    check_ins: int = 0
    travel_document_requests: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    as_of: str = ""
    weights_path: str = ""

    def summary(self) -> dict:
        """The documented JSON document of ``caseload generate --format json``."""
        keys = ("cases", "people", "officers", "offices", "convicted", "final_orders", "time_log_entries",
                "check_ins", "travel_document_requests", "seconds")
        return {k: getattr(self, k) for k in keys}


def check_scale(scale: object) -> float:
    try:
        value = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError("invalid_scale", f"scale must be a number greater than 0, got {scale!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise UsageError("invalid_scale", f"scale must be a number greater than 0, got {scale!r}")
    if value > 10:
        raise UsageError("invalid_scale", f"scale {value} is above the supported maximum of 10 (22 million cases)")
    return value


def generated_models() -> list[type[models.Model]]:
    """The generated models and every model that depends on them, children first."""
    order: list[type[models.Model]] = []

    def visit(model: type[models.Model]) -> None:
        if model in order:
            return
        for rel in model._meta.related_objects:
            if rel.related_model is not model:  # includes history tables (DO_NOTHING, no constraint)
                visit(rel.related_model)
        order.append(model)

    for label in GENERATED_ROOTS:
        visit(apps.get_model(label))
    return order


def clear_generated_data() -> None:
    """Delete the docket (people, cases, officers and all that hangs off them); keep reference data and the audit log."""
    tables = [m._meta.db_table for m in generated_models()]
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(bulk.quote(t) for t in tables))
        else:
            for table in tables:
                cur.execute(f"DELETE FROM {bulk.quote(table)}")


def is_empty() -> bool:
    return not (Person.objects.exists() or Case.objects.exists() or Officer.objects.exists())


def build_inputs(*, scale: float, seed: int, as_of: dt.date) -> synthetic.Inputs:
    acts = {code: synthetic.ActivitySpec(a.mean_minutes, a.sigma, a.collateral) for code, a in activities().items()}
    offenses = [synthetic.OffenseSpec(c.code, c.weight, c.felony_share, c.aggravated_share)
                for c in taxonomy.categories().values()]
    offices = list(FieldOffice.objects.filter(active=True).order_by("code").values_list("id", "code"))
    quotas = dict(Country.objects.filter(annual_document_quota__isnull=False).values_list("code", "annual_document_quota"))
    return synthetic.Inputs(scale=scale, seed=seed, as_of=as_of, offices=offices, country_tiers=tiers_by_code(),
                            activities=acts, offenses=offenses, country_quotas=quotas)


def generate_docket(*, scale: object, seed: int, replace: bool = False, as_of: dt.date | None = None,
                    weights_path: Path | None = DEFAULT_WEIGHTS_PATH, actor_label: str = "cli:generate",
                    progress: Progress | None = None) -> GenerateResult:
    """Generate the synthetic docket at ``scale`` (1.0 = the national docket) for ``seed``.

    Refuses a database that already holds a docket unless ``replace``. ``progress`` is called
    with (cases written since the last call, description).
    """
    scale = check_scale(scale)
    started = time.perf_counter()
    as_of = as_of or clock.today()
    load_reference_data()
    # A generation that was killed left a partial docket: cleared (with the schema it dropped restored).
    bulk.restore_interrupted(clear={"generate": clear_generated_data})
    # Everything `caseload init` does, so a new database needs this one step: the shipped
    # priority rule sets and cadence tables (those not installed yet) besides the reference data.
    do_load_shipped(actor_label=actor_label)
    if not is_empty():
        if not replace:
            raise CaseloadError("database_not_empty",
                                "the database already holds a docket; pass --replace to delete it and generate anew")
        clear_generated_data()

    inputs = build_inputs(scale=scale, seed=seed, as_of=as_of)
    plans = synthetic.plan(inputs)
    factors = synthetic.capacity_factor(inputs, plans)
    quota_shares = synthetic.quota_shares(inputs, plans)
    names = synthetic.NamePools.build(seed)
    ids = synthetic.IdCounters()
    weights = synthetic.TrueWeights()
    result = GenerateResult(offices=len(plans), as_of=as_of.isoformat())
    timings = {"draw": 0.0, "insert": 0.0}
    convicted: set[int] = set()

    with bulk.BulkLoader(synthetic.TABLES, label="generate", resumable=False) as loader:
        for p, factor in zip(plans, factors, strict=True):
            t0 = time.perf_counter()
            batch = synthetic.generate_office(inputs, p, float(factor), ids, names, weights,
                                              quotas=synthetic.office_quotas(inputs, quota_shares, p.index))
            rows = {t: bulk.rows_from_columns(batch[t], synthetic.COLUMNS[t]) for t in synthetic.TABLES}
            t1 = time.perf_counter()
            with transaction.atomic():
                for table in synthetic.TABLES:
                    bulk.insert_rows(table, synthetic.COLUMNS[table], rows[table])
            timings["draw"] += t1 - t0
            timings["insert"] += time.perf_counter() - t1
            _count(result, batch, convicted)
            if progress:
                progress(p.cases, f"{p.code}: {p.cases:,} cases")
    timings["indexes"] = loader.restore_seconds
    bulk.reset_sequences(synthetic.TABLES)
    result.convicted = len(convicted)
    result.seconds = round(time.perf_counter() - started, 3)
    result.timings = {k: round(v, 3) for k, v in timings.items()}

    if weights_path is not None:
        weights_path.parent.mkdir(parents=True, exist_ok=True)
        months = inputs.calibration["checkins"]["months_of_history"]
        weights_path.write_text(json.dumps(weights.as_dict(as_of=as_of, seed=seed, scale=scale, months=months), indent=1) + "\n")
        result.weights_path = str(weights_path)
    audit.record(action="docket.generated", actor_label=actor_label, object_type="docket",
                 details={"scale": scale, "seed": seed, "as_of": result.as_of, **result.summary()})
    loader.finish()  # from here on a re-run finds a complete docket
    return result


def _count(result: GenerateResult, batch: synthetic.OfficeBatch, convicted: set[int]) -> None:
    result.cases += len(batch["docket_case"]["id"])
    result.people += len(batch["docket_person"]["id"])
    result.officers += len(batch["offices_officer"]["id"])
    result.final_orders += int((batch["docket_case"]["stage"] == "final_order").sum())
    result.time_log_entries += len(batch["workload_timelogentry"]["id"])
    result.check_ins += len(batch["docket_checkin"]["id"])
    result.travel_document_requests += len(batch["countries_traveldocumentrequest"]["id"])
    convicted.update(np.unique(batch["docket_conviction"]["person_id"]).tolist())
