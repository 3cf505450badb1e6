"""The committed slice of the FY2016 ICE extracts (README.md here), the optional full files, and
the reference computation the real-data tests compare with.

Real-data tests are parametrised over :func:`sources`: always the committed slice, and the
full released files only when ``CASELOAD_FOIA_DIR`` names their directory. Without it the
full-file cases are not generated at all (never skipped), so a run under ``CI=true`` has no
skip for a missing input; with it, a missing file is a failure.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
KINDS = {"removals": "ICERemovals_FY2016", "arrests": "EROArrests_FY2016", "encounters": "EROEncounters_FY2016"}
# Rows after the header in the full released files (the release's own counts).
FULL_ROWS = {"removals": 240_255, "arrests": 110_104, "encounters": 368_645}


def sources() -> list[str]:
    return ["slice", "full"] if os.environ.get("CASELOAD_FOIA_DIR") else ["slice"]


def path(kind: str, source: str = "slice") -> Path:
    if source == "slice":
        return HERE / f"{KINDS[kind]}_slice.csv.gz"
    found = Path(os.environ["CASELOAD_FOIA_DIR"]) / f"{KINDS[kind]}.csv.gz"
    if not found.is_file():
        raise FileNotFoundError(f"CASELOAD_FOIA_DIR is set but {found} does not exist")
    return found


@cache
def reference():
    """``scripts/derive_foia_aggregates.py`` as a module: plain csv and statistics, no caseload."""
    spec = importlib.util.spec_from_file_location("derive_foia_aggregates", REPO_ROOT / "scripts" / "derive_foia_aggregates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
