"""Shared fixtures: reference data loaded once per test database, small factories."""

from __future__ import annotations

import pytest


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
