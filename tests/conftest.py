"""Shared fixtures: reference data loaded once per test database, small factories."""

from __future__ import annotations

import pytest

# Fixtures for every directory, so each session-scoped one is built once per test process: real
# caseload processes on databases of their own (tests.processes), the browser tests' served app
# and its browser (tests.browser).
pytest_plugins = ["tests.processes", "tests.browser"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load offices, countries and roles once into the test database (committed, shared)."""
    from caseload.core.reference import load_reference_data

    with django_db_blocker.unblock():
        load_reference_data()


@pytest.fixture
def vendor():
    from django.db import connection

    return connection.vendor


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres_only`` are deselected (not skipped) on SQLite, so a run reports
    no skip for them; which database a run uses is fixed by CASELOAD_DATABASE_URL."""
    import os

    _heavy_files_first(items)
    if os.environ.get("CASELOAD_DATABASE_URL", "").startswith("postgres"):
        return
    deselected = [item for item in items if item.get_closest_marker("postgres_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]


HEAVY_FIXTURES = {"served", "browser", "production_server"}  # a served app, the browser


def _heavy_files_first(items) -> None:
    """Put the longest files first, keeping the order otherwise: those with real ``caseload``
    processes on databases of their own (kills, backups), then those with other slow tests, a
    served app or the browser. The parallel run hands out whole files in this order, so the long
    ones start early instead of running alone at the end."""
    rank: dict = {}
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        r = 0 if "databases" in fixtures else 1 if item.get_closest_marker("slow") or HEAVY_FIXTURES & fixtures else 2
        rank[item.path] = min(rank.get(item.path, 2), r)
    items.sort(key=lambda item: rank[item.path])
