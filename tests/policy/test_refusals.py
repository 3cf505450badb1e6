"""Refusals of the manual import and of revoking a director's exception: code, and nothing changed."""

import pytest

from caseload.core.errors import NotFound, UsageError
from caseload.core.models import AuditEvent
from caseload.policy import services
from caseload.policy.manual import do_import_manual
from caseload.policy.models import ManualChapter, ManualSection, ManualSectionVersion, PriorityException

pytestmark = pytest.mark.django_db


def manual_state():
    return (ManualChapter.objects.count(), ManualSection.objects.count(), ManualSectionVersion.objects.count(),
            AuditEvent.objects.count())


def test_importing_a_file_instead_of_a_directory_is_refused(tmp_path):
    path = tmp_path / "chapter.md"
    path.write_text("# not a directory\n")
    before = manual_state()
    with pytest.raises(UsageError) as err:
        do_import_manual(path, actor_label="test")
    assert err.value.code == "not_a_directory" and err.value.exit_code == 2
    with pytest.raises(UsageError) as err:
        do_import_manual(tmp_path / "missing", actor_label="test")
    assert err.value.code == "not_a_directory"
    assert manual_state() == before


def test_a_directory_without_manual_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no markdown here\n")
    (tmp_path / "sub").mkdir()
    before = manual_state()
    with pytest.raises(UsageError) as err:
        do_import_manual(tmp_path, actor_label="test")
    assert err.value.code == "no_manual_files"
    assert manual_state() == before


def test_revoking_an_unknown_exception_is_refused(shipped):
    before = (list(PriorityException.objects.values_list("id", "revoked_on")), AuditEvent.objects.count())
    with pytest.raises(NotFound) as err:
        services.do_revoke_exception(exception_id=987_654, reason="granted in error", actor_label="test")
    assert err.value.code == "unknown_exception"
    assert (list(PriorityException.objects.values_list("id", "revoked_on")), AuditEvent.objects.count()) == before
