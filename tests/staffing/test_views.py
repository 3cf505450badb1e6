import re

import pytest
from django.contrib.auth.models import Group, User

from tests import factories
from tests.staffing.test_services import _office, _weights

pytestmark = pytest.mark.django_db


def user_in(group: str) -> User:
    user = User.objects.create_user(f"{group}-user", password="pw-123456")
    user.groups.add(Group.objects.get(name=group))
    return user


def test_supervisor_sees_capacity_chart_and_outliers(client):
    _weights(recognizance__pending=2.0)
    _office("SPM", loads=(10, 11, 10, 12, 11, 60))
    client.force_login(factories.user("supervisor", office_code="SPM"))
    response = client.get("/staffing/SPM/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") == 1
    capacity_rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\w+)</td><td>([\d,]+)</td>'
                               r'<td>[\d,]+</td><td>([\d,]+)</td><td>([\d.]+)</td></tr>', _table(html, "capacity"))
    available = (2080 - 303.5 - 40) * 60 / 12      # 8,682.5 casework minutes a month (shown rounded half up)
    expected = [(f"Ada O{i}", "active", str(n), f"{int(available + 0.5):,}", f"{100 * n * 2.0 / available:.1f}")
                for i, n in enumerate((10, 11, 10, 12, 11, 60))]
    assert capacity_rows == expected
    outlier_rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\w+)</td><td>([\d.]+)</td>', _table(html, "outliers"))
    assert outlier_rows == [("Ada O5", "cases", "60"), ("Ada O5", "capacity_pct", f"{100 * 60 * 2.0 / available:.1f}")]


def _table(html: str, table_id: str) -> str:
    start = html.index(f'<table id="{table_id}">')
    return re.sub(r">\s+<", "><", html[start:html.index("</table>", start)])


def test_officers_and_anonymous_users_are_refused(client):
    factories.officer("SPM")
    assert client.get("/staffing/SPM/").status_code == 302  # to the login page
    client.force_login(user_in("officer"))
    assert client.get("/staffing/SPM/").status_code == 403


def test_unknown_office_is_not_found(client):
    client.force_login(user_in("hq_analyst"))
    assert client.get("/staffing/XYZ/").status_code == 404
