"""``caseload generate`` on an empty database does everything ``caseload init`` does."""

import datetime as dt

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.ingest.generate import generate_docket
from caseload.policy import services
from caseload.policy.models import CadenceTable, RuleSet

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 30)


def test_generate_installs_the_shipped_rule_sets_so_reclassify_works_right_after(tmp_path):
    assert (RuleSet.objects.count(), CadenceTable.objects.count()) == (0, 0)
    generate_docket(scale=0.0005, seed=3, as_of=AS_OF, weights_path=None)
    assert sorted(RuleSet.objects.values_list("id", flat=True)) == ["dhs-2021", "eo-13768", "pep-2014"]
    assert CadenceTable.objects.count() == len(list(services.SHIPPED_CADENCE_TABLES.glob("*.toml")))
    result = services.do_reclassify(as_of=AS_OF, actor_label="test")
    assert (result.rule_set, result.cases) == ("dhs-2021", 1100)


def test_generate_leaves_installed_rule_sets_alone(tmp_path):
    services.do_load_shipped(actor_label="test")
    before = list(RuleSet.objects.order_by("id").values_list("id", "sha256"))
    generate_docket(scale=0.0005, seed=3, as_of=AS_OF, weights_path=None)
    assert list(RuleSet.objects.order_by("id").values_list("id", "sha256")) == before


def test_cli_generate_then_reclassify(tmp_path):
    runner = CliRunner()
    generated = runner.invoke(app, ["generate", "--scale", "0.0005", "--as-of", AS_OF.isoformat(),
                                    "--weights-out", str(tmp_path / "w.json"), "--format", "json"])
    assert generated.exit_code == 0, generated.output
    reclassified = runner.invoke(app, ["policy", "reclassify", "--as-of", AS_OF.isoformat(), "--format", "json"])
    assert reclassified.exit_code == 0, reclassified.output
