"""A small generated docket with the sample manual and curriculum; planning jobs computed inline."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    from caseload.planning import jobs

    monkeypatch.setattr(jobs, "RUN_INLINE", True)


@pytest.fixture
def docket(db):
    from caseload.ingest.generate import generate_docket
    from caseload.policy import manual
    from caseload.training.services import SAMPLE_CURRICULUM, do_import_curriculum

    result = generate_docket(scale=0.001, seed=3, weights_path=None)
    manual.do_import_manual(manual.SAMPLE_DIR, actor_label="test")
    do_import_curriculum(SAMPLE_CURRICULUM, actor_label="test")
    return result
