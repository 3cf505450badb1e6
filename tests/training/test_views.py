"""The training compliance page."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from caseload.core import clock
from caseload.training import services
from tests import factories

pytestmark = pytest.mark.django_db


def test_compliance_page(client):
    assert client.get("/training/").status_code == 302
    client.force_login(factories.user("hq_analyst", "reader"))
    services.do_import_curriculum(services.SAMPLE_CURRICULUM, actor_label="test")
    factories.officer("BOS")
    with clock.frozen(dt.date(2026, 1, 1)):
        html = client.get("/training/").content.decode()
    row = html[html.index("<th scope=\"row\">BOS</th>"):].split("</tr>")[0]
    assert row.replace(" ", "") == '<thscope="row">BOS</th><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td>'
    assert client.get("/training/", {"as_of": "yesterday"}).status_code == 400
    assert client.get("/training/", {"course": "no_such_course"}).status_code == 400
