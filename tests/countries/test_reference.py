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
    tiers = dict(Country.objects.values_list("code", "cooperation_tier"))
    assert sum(t == "uncooperative" for t in tiers.values()) == 23
    assert sum(t == "delayed" for t in tiers.values()) == 62
    assert {c for c, t in tiers.items() if t == "restricted"} == {"CN", "IN", "BD"}
    assert CooperationTierChange.objects.filter(country_id="HT", tier="delayed").exists()


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
