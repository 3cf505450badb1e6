"""Run one generation in this process and print its result with phase timings (JSON).

Started as a child process by benchmarks.run so its peak memory can be measured alone.
Usage: python -m benchmarks.generate_child DATABASE_URL SCALE SEED AS_OF
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys


def main() -> None:
    url, scale, seed, as_of = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), dt.date.fromisoformat(sys.argv[4])
    os.environ["CASELOAD_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from caseload.ingest.generate import generate_docket

    call_command("migrate", verbosity=0)
    result = generate_docket(scale=scale, seed=seed, as_of=as_of, replace=True, weights_path=None)
    # this process's own peak (plus any process it started), not the parent's view of all children
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({**result.summary(), "timings": result.timings, "peak_rss_kib": peak}))


if __name__ == "__main__":
    main()
