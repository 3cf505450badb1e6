import datetime as dt
import tomllib

import pycountry
import pytest

from caseload.core.reference import load_reference_data
from caseload.countries import names
from caseload.countries.models import CooperationTierChange, Country
from caseload.offices.models import FieldOffice


def test_every_alias_is_a_current_iso_code():
    for name, code in names.aliases().items():
        assert pycountry.countries.get(alpha_2=code) is not None, name


@pytest.mark.parametrize("raw, code", [("MEXICO", "MX"), ("CHINA, PEOPLES REPUBLIC OF", "CN"), ("BURMA", "MM"),
                                       ("KOREA", "KR"), ("el salvador", "SV"), ("USSR", None), ("UNKNOWN", None), ("", None)])
def test_extract_names_map_to_alpha2(raw, code):
    assert names.to_alpha2(raw) == code


@pytest.mark.django_db
def test_reference_data_matches_the_report():
    assert FieldOffice.objects.count() == 24
    assert Country.objects.count() == len(pycountry.countries)
    from caseload.countries.services import tiers_as_of

    august_2016 = {c: t.tier for c, t in tiers_as_of(dt.date(2016, 8, 1)).items()}
    assert sum(t == "uncooperative" for t in august_2016.values()) == 23      # OIG-17-51's counts
    assert sum(t == "delayed" for t in august_2016.values()) == 62
    assert {c for c, t in august_2016.items() if t == "restricted"} == {"CN", "IN", "BD"}
    # ICE's May 2017 list: 12 uncooperative, China among them (kept restricted for its quota).
    may_2017 = {c for c, t in tiers_as_of(dt.date(2017, 5, 16)).items() if t.tier == "uncooperative"}
    assert may_2017 == {"MM", "KH", "CU", "ER", "GN", "HK", "IR", "LA", "MA", "SS", "VN"}
    tiers = dict(Country.objects.values_list("code", "cooperation_tier"))
    assert {c for c, t in tiers.items() if t == "uncooperative"} == may_2017   # the latest list is current
    assert dict(Country.objects.filter(annual_document_quota__isnull=False).values_list("code", "annual_document_quota")) == {
        "CN": 1200, "IN": 2400, "BD": 600}
    assert CooperationTierChange.objects.filter(country_id="HT", tier="delayed").exists()


@pytest.mark.django_db
def test_every_reference_membership_has_a_source_and_unsourced_ones_are_marked_estimates():
    from caseload.countries.services import is_estimate

    rows = list(CooperationTierChange.objects.filter(recorded_by="reference data").values_list(
        "country_id", "tier", "effective_on", "source"))
    assert all(source for *_, source in rows)
    sourced = {(c, str(d)) for c, t, d, source in rows if t != "cooperative" and not is_estimate(source)}
    assert sourced == {(c, "2017-05-16") for c in ("MM", "KH", "CU", "ER", "GN", "HK", "IR", "LA", "MA", "SS", "VN")}
    china = CooperationTierChange.objects.get(country_id="CN", effective_on=dt.date(2016, 8, 1))
    assert is_estimate(china.source) and "the yearly quota of 1200 is an estimate" in china.source


@pytest.mark.django_db
def test_loading_reference_data_again_changes_nothing():
    before = (FieldOffice.objects.count(), Country.objects.count(), CooperationTierChange.objects.count())
    load_reference_data()
    assert (FieldOffice.objects.count(), Country.objects.count(), CooperationTierChange.objects.count()) == before


def test_office_codes_are_the_24_of_the_report():
    from caseload.offices.services import _OFFICES_FILE

    with _OFFICES_FILE.open("rb") as fh:
        codes = [o["code"] for o in tomllib.load(fh)["office"]]
    assert codes == sorted("ATL BAL BOS BUF CHI DAL DEN DET ELP HOU LOS MIA NEW NOL NYC PHI PHO SEA SFR SLC SNA SND SPM WAS".split())
