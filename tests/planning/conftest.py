"""Planning tests reuse the reports fixtures: a small generated docket; jobs computed inline."""

from tests.reports.conftest import docket, inline_jobs  # noqa: F401
