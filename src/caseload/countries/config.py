"""The rules and thresholds of ``data/travel_documents.toml``, read and checked once (no Django)."""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
STEPS = ("consulate_contact", "headquarters_review", "diplomatic_escalation")
TIERS = ("cooperative", "delayed", "restricted", "uncooperative")


@dataclass(frozen=True)
class TierRule:
    refusal_rate: float
    median_days_to_issue: float
    pending_over_90_share: float


@dataclass(frozen=True)
class Config:
    quota_year_start: tuple[int, int]
    window_days: int
    stalled_after_days: int
    min_decisions: int
    min_pending: int
    uncooperative: TierRule
    delayed: TierRule
    steps: tuple[str, ...]
    due_days: dict[str, int]
    no_document_after_days: int
    review_valid_days: int
    review_on_refusal: bool
    review_tiers: tuple[str, ...]
    min_rationale_words: int
    risk_levels: tuple[str, ...]

    def quota_year(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """First and last day of the quota year containing ``day``."""
        month, first = self.quota_year_start
        start = dt.date(day.year, month, first)
        if start > day:
            start = dt.date(day.year - 1, month, first)
        end = dt.date(start.year + 1, month, first) - dt.timedelta(days=1)
        return start, end

    def next_step(self, step: str) -> str | None:
        i = self.steps.index(step)
        return self.steps[i + 1] if i + 1 < len(self.steps) else None


def _positive(value: object, name: str) -> int:
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"travel_documents.toml: {name} must be a positive whole number, got {value!r}")
    return value


@functools.cache
def config(path: Path | None = None) -> Config:
    with (path or DATA_DIR / "travel_documents.toml").open("rb") as fh:
        data = tomllib.load(fh)
    steps = tuple(data["escalation"]["steps"])
    if steps != STEPS:
        raise ValueError(f"travel_documents.toml: escalation steps must be {list(STEPS)}, got {list(steps)}")
    rules = data["suggested_tier"]
    fs = data["foreseeability"]
    review_tiers = tuple(fs["review_tiers"])
    if not set(review_tiers) <= set(TIERS):
        raise ValueError(f"travel_documents.toml: foreseeability.review_tiers must name tiers of {list(TIERS)}")
    return Config(
        quota_year_start=(data["quota"]["year_starts_month"], data["quota"]["year_starts_day"]),
        window_days=_positive(data["measurement"]["window_days"], "measurement.window_days"),
        stalled_after_days=_positive(data["measurement"]["stalled_after_days"], "measurement.stalled_after_days"),
        min_decisions=_positive(rules["min_decisions"], "suggested_tier.min_decisions"),
        min_pending=_positive(rules["min_pending"], "suggested_tier.min_pending"),
        uncooperative=TierRule(**rules["uncooperative"]),
        delayed=TierRule(**rules["delayed"]),
        steps=steps,
        due_days={s: _positive(data["escalation"]["due_days"][s], f"escalation.due_days.{s}") for s in steps},
        no_document_after_days=_positive(data["foreseeability"]["no_document_after_days"], "foreseeability.no_document_after_days"),
        review_valid_days=_positive(data["foreseeability"]["review_valid_days"], "foreseeability.review_valid_days"),
        review_on_refusal=bool(fs["review_on_refusal"]),
        review_tiers=review_tiers,
        min_rationale_words=_positive(fs["min_rationale_words"], "foreseeability.min_rationale_words"),
        risk_levels=tuple(fs["risk_levels"]),
    )


def held_back(*, decisions: int, pending: int, cfg: Config | None = None) -> str:
    """Why no tier is suggested: the evidence counts against their minimums, e.g.
    "7 decisions, 10 needed; 3 pending requests, 10 needed"."""
    cfg = cfg or config()
    return (f"{decisions} decision{'s' if decisions != 1 else ''}, {cfg.min_decisions} needed; "
            f"{pending} pending request{'s' if pending != 1 else ''}, {cfg.min_pending} needed")


def suggest_tier(*, refusal_rate: float | None, median_days_to_issue: float | None, pending_over_90_share: float | None,
                 decisions: int, pending: int, has_quota: bool, cfg: Config | None = None) -> str | None:
    """The tier the measured figures point to, or None when there is too little evidence."""
    cfg = cfg or config()
    if decisions < cfg.min_decisions and pending < cfg.min_pending:
        return None

    def reaches(rule: TierRule) -> bool:
        measured = decisions >= cfg.min_decisions
        return ((measured and refusal_rate is not None and refusal_rate >= rule.refusal_rate)
                or (measured and median_days_to_issue is not None and median_days_to_issue >= rule.median_days_to_issue)
                or (pending >= cfg.min_pending and pending_over_90_share is not None
                    and pending_over_90_share >= rule.pending_over_90_share))

    if reaches(cfg.uncooperative):
        return "uncooperative"
    if has_quota:
        return "restricted"
    if reaches(cfg.delayed):
        return "delayed"
    return "cooperative"
