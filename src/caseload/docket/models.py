"""People on the docket, their convictions, their supervision cases and check-ins."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from caseload.docket import anumber, taxonomy
from caseload.offices.models import Unit


def validate_country_code(value: str) -> None:
    import pycountry

    if pycountry.countries.get(alpha_2=value) is None:
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 code", code="invalid_country")


class EntryManner(models.TextChoices):
    WITHOUT_INSPECTION = "ewi", "Entered without inspection"
    VISA = "visa", "Admitted on a visa"
    VISA_WAIVER = "visa_waiver", "Admitted under the Visa Waiver Program"
    PAROLE = "parole", "Paroled"
    LAWFUL_PERMANENT_RESIDENT = "lpr", "Admitted as a lawful permanent resident"
    UNKNOWN = "unknown", "Unknown"


class ApprehensionPlace(models.TextChoices):
    INTERIOR = "interior", "Interior"
    BORDER = "border", "At or near the border"
    PORT_OF_ENTRY = "port_of_entry", "At a port of entry"


class CitizenshipClaim(models.TextChoices):
    NONE = "none", "No claim"
    OPEN = "open", "Claim to U.S. citizenship unresolved"
    REJECTED = "rejected", "Claim decided: not a U.S. citizen"
    UPHELD = "upheld", "Claim decided: U.S. citizen"


class Person(models.Model):
    """A noncitizen on the docket, with the facts the priority rule sets read (docs/domain.md §5)."""

    a_number = models.CharField(max_length=9, unique=True, validators=[anumber.validate_stored])
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=1, choices=[("F", "Female"), ("M", "Male"), ("X", "Unknown")], default="X")
    citizenship = models.ForeignKey("countries.Country", on_delete=models.PROTECT, db_column="citizenship",
                                    validators=[validate_country_code])
    entry_date = models.DateField(null=True, blank=True)
    entry_manner = models.CharField(max_length=12, choices=EntryManner.choices, default=EntryManner.UNKNOWN)
    last_apprehension_date = models.DateField(null=True, blank=True)
    apprehension_place = models.CharField(max_length=16, choices=ApprehensionPlace.choices, blank=True)
    national_security_flag = models.BooleanField(default=False)
    gang_flag = models.BooleanField(default=False, help_text="gang offense or participation at 16 or older")
    citizenship_claim = models.CharField(max_length=10, choices=CitizenshipClaim.choices, default=CitizenshipClaim.NONE)
    pending_criminal_charges = models.IntegerField(default=0)
    pending_charges_filed_on = models.DateField(
        null=True, blank=True,
        help_text="when the earliest pending criminal charge was filed (priority facts as of an earlier date ignore it)")
    visa_fraud_finding = models.BooleanField(default=False, help_text="significant visa abuse or fraud before an agency")
    public_benefits_abuse = models.BooleanField(default=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False,
                               help_text="office holding the person's case")
    citizenship_claim_raised_on = models.DateField(null=True, blank=True,
                                                   help_text="when the open claim to U.S. citizenship was raised")
    failed_to_report_on = models.DateField(
        null=True, blank=True,
        help_text="set when consecutive missed check-ins reach the threshold; cleared when the person reports")

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            # Small sets the worklist rules read nationally (partial indexes stay tiny).
            models.Index(fields=["id"], condition=Q(national_security_flag=True), name="person_national_security_idx"),
            models.Index(fields=["id"], condition=Q(citizenship_claim="open"), name="person_claim_open_idx"),
            models.Index(fields=["id"], condition=Q(failed_to_report_on__isnull=False), name="person_failed_to_report_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(pending_criminal_charges__gte=0), name="person_charges_nonnegative"),
            models.CheckConstraint(
                condition=Q(entry_date__isnull=True) | Q(birth_date__isnull=True) | Q(entry_date__gte=F("birth_date")),
                name="person_entry_after_birth",
            ),
        ]

    @property
    def a_number_display(self) -> str:
        return anumber.display(self.a_number)

    def __str__(self) -> str:
        return f"{self.a_number_display} {self.last_name}, {self.first_name}"


class Severity(models.TextChoices):
    FELONY = "felony", "Felony"
    MISDEMEANOR = "misdemeanor", "Misdemeanor"


class Conviction(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="convictions")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    convicted_on = models.DateField()
    offense_category = models.CharField(max_length=24, choices=taxonomy.choices)
    severity = models.CharField(max_length=12, choices=Severity.choices)
    aggravated_felony = models.BooleanField(default=False)
    sentence_days = models.IntegerField(default=0, help_text="custody imposed, including any suspended part")
    custody_days = models.IntegerField(default=0, help_text="custody actually served")
    incident_id = models.CharField(max_length=24, help_text="convictions from one incident share this id")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(custody_days__gte=0, sentence_days__gte=0), name="conviction_days_nonnegative"),
            models.CheckConstraint(condition=Q(custody_days__lte=F("sentence_days")), name="conviction_served_within_sentence"),
            models.CheckConstraint(condition=Q(aggravated_felony=False) | Q(severity="felony"), name="aggravated_felony_is_felony"),
        ]


class SupervisionType(models.TextChoices):
    OSUP = "osup", "Order of supervision (I-220B)"
    ATD = "atd", "Alternatives to Detention"
    RECOGNIZANCE = "recognizance", "Order of recognizance (I-220A)"
    BOND = "bond", "Bond"
    PAROLE = "parole", "Parole"


class Stage(models.TextChoices):
    PENDING = "pending", "Pending before immigration court"
    APPEAL = "appeal", "Appeal pending (BIA)"
    FINAL_ORDER = "final_order", "Final order of removal"
    RELIEF_GRANTED = "relief_granted", "Relief granted"
    TERMINATED = "terminated", "Proceedings terminated"
    REMOVED = "removed", "Removed"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


# Stages that require (and stages that forbid) a final-order date.
FINAL_ORDER_STAGES = (Stage.FINAL_ORDER, Stage.REMOVED)
PRE_ORDER_STAGES = (Stage.PENDING, Stage.APPEAL)


class Case(models.Model):
    """One person's supervision case at one office, owned by at most one officer.

    ``version`` is the optimistic-locking counter: every write goes through
    ``UPDATE … WHERE version = <read version>`` and increments it.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    # Foreign-key indexes on office and officer are covered by the composite indexes below.
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, related_name="cases", db_index=False)
    unit = models.CharField(max_length=24, choices=Unit.choices, default=Unit.NON_DETAINED)
    officer = models.ForeignKey("offices.Officer", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases",
                                db_index=False)
    supervision_type = models.CharField(max_length=12, choices=SupervisionType.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices)
    proceedings_started_on = models.DateField(help_text="Notice to Appear filed")
    stage_changed_on = models.DateField()
    final_order_date = models.DateField(null=True, blank=True)
    appeal_pending = models.BooleanField(default=False)
    appeal_filed_on = models.DateField(null=True, blank=True)
    stay_of_removal_until = models.DateField(null=True, blank=True)
    reporting_cadence_days = models.IntegerField(help_text="days between required check-ins")
    next_report_due = models.DateField(null=True, blank=True)
    last_contact_on = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=24, blank=True, help_text="level computed by the rule set in force")
    priority_rank = models.SmallIntegerField(null=True, blank=True,
                                             help_text="order of the level within its rule set: 1 is the most urgent")
    priority_rule_set = models.CharField(max_length=64, blank=True, help_text="id of the rule set that set the priority")
    status = models.CharField(max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    version = models.IntegerField(default=1)

    # Facts recorded by officers' actions (docs/case-lifecycle.md); empty means "no record".
    removal_scheduled_for = models.DateField(null=True, blank=True)
    warning_served_on = models.DateField(null=True, blank=True,
                                         help_text="Form I-229(a) warning for failure to depart served")
    custody_reviewed_on = models.DateField(null=True, blank=True, help_text="latest post-order custody or supervision review")
    custody_review_count = models.SmallIntegerField(default=0, db_default=0,
                                                    help_text="review milestones met since the final order")
    ns_reviewed_on = models.DateField(null=True, blank=True, help_text="latest national-security case review")
    td_followed_up_on = models.DateField(null=True, blank=True, help_text="latest follow-up of a pending travel-document request")
    # Derived from the case's check-ins (kept in step by the check-in services; after a bulk
    # load, `caseload tasks refresh` recomputes rows whose derived_current is false).
    records_check_owed_since = models.DateField(null=True, blank=True,
                                                help_text="earliest attended check-in still lacking a records-check result")
    hit_review_owed_since = models.DateField(null=True, blank=True,
                                             help_text="earliest records-check hit not yet reviewed by a supervisor")
    missed_in_a_row = models.SmallIntegerField(default=0, db_default=0, help_text="missed check-ins since the last appearance")
    derived_current = models.BooleanField(default=True, db_default=False,
                                          help_text="false for rows written by a bulk load until their derived columns are computed")

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["office", "id"]),       # per-office counts and keyset pages
            models.Index(fields=["officer", "status"]),  # an officer's open cases, in case-id order
            # Covers every column the national overdue scan reads, in (officer, office) order:
            # that scan reads this index alone and aggregates without sorting (docs/worklist.md).
            models.Index(fields=["status", "officer", "office", "unit", "stage", "opened_on", "next_report_due",
                                 "last_contact_on", "final_order_date", "stay_of_removal_until", "appeal_pending",
                                 "warning_served_on", "custody_review_count", "records_check_owed_since",
                                 "hit_review_owed_since", "reporting_cadence_days"], name="case_overdue_scan_idx"),
            models.Index(fields=["id"], condition=Q(derived_current=False), name="case_derived_stale_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage__in=FINAL_ORDER_STAGES) | Q(final_order_date__isnull=False),
                name="case_final_order_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(stage__in=PRE_ORDER_STAGES) | Q(final_order_date__isnull=True),
                name="case_no_final_order_date_before_order",
            ),
            models.CheckConstraint(
                condition=~Q(stage=Stage.APPEAL) | Q(appeal_pending=True, appeal_filed_on__isnull=False),
                name="case_appeal_stage_has_appeal",
            ),
            models.CheckConstraint(
                condition=Q(final_order_date__isnull=True) | Q(final_order_date__gte=F("proceedings_started_on")),
                name="case_final_order_after_proceedings",
            ),
            models.CheckConstraint(
                condition=(Q(status=CaseStatus.OPEN) & Q(closed_on__isnull=True))
                | (Q(status=CaseStatus.CLOSED) & Q(closed_on__isnull=False) & ~Q(close_reason="")),
                name="case_closed_has_date_and_reason",
            ),
            models.CheckConstraint(condition=Q(reporting_cadence_days__gt=0), name="case_cadence_positive"),
            models.CheckConstraint(condition=Q(version__gte=1), name="case_version_positive"),
            models.CheckConstraint(condition=Q(custody_review_count__gte=0, missed_in_a_row__gte=0),
                                   name="case_counters_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.office_id})"


class CheckInOutcome(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    APPEARED = "appeared", "Appeared"
    MISSED = "missed", "Missed"
    RESCHEDULED = "rescheduled", "Rescheduled"


class CheckInMethod(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    ATD_TECHNOLOGY = "atd_technology", "ATD technology (telephonic or app)"


class RecordsCheck(models.TextChoices):
    NOT_RUN = "not_run", "Not run"
    CLEAR = "clear", "Clear"
    HIT = "hit", "Hit"
    UNAVAILABLE = "unavailable", "System unavailable"


class CheckIn(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="check_ins", db_index=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    officer = models.ForeignKey("offices.Officer", null=True, blank=True, on_delete=models.SET_NULL)
    scheduled_for = models.DateField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=CheckInOutcome.choices, default=CheckInOutcome.SCHEDULED)
    method = models.CharField(max_length=16, choices=CheckInMethod.choices, default=CheckInMethod.IN_PERSON)
    records_check = models.CharField(max_length=12, choices=RecordsCheck.choices, default=RecordsCheck.NOT_RUN)
    records_check_detail = models.CharField(max_length=300, blank=True)
    records_check_at = models.DateTimeField(null=True, blank=True, help_text="when the records check was run")
    rescheduled_to = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, default="", db_default="")
    hit_reviewed_on = models.DateField(null=True, blank=True)
    hit_reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", db_index=False)
    hit_review_decision = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        indexes = [models.Index(fields=["case", "scheduled_for"]), models.Index(fields=["office", "scheduled_for"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome=CheckInOutcome.APPEARED) | Q(occurred_at__isnull=False),
                name="checkin_appeared_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(records_check__in=[RecordsCheck.HIT, RecordsCheck.UNAVAILABLE]) | ~Q(records_check_detail=""),
                name="checkin_hit_or_unavailable_has_detail",
            ),
            models.CheckConstraint(
                condition=~Q(outcome=CheckInOutcome.RESCHEDULED) | Q(rescheduled_to__isnull=False),
                name="checkin_rescheduled_has_date",
            ),
            models.CheckConstraint(
                condition=Q(hit_reviewed_on__isnull=True) | (Q(records_check=RecordsCheck.HIT) & ~Q(hit_review_decision="")),
                name="checkin_hit_review_has_decision",
            ),
        ]


class ClaimDecision(models.TextChoices):
    REJECTED = "rejected", "Not a U.S. citizen"
    UPHELD = "upheld", "U.S. citizen"


class CitizenshipClaimDecision(models.Model):
    """A supervisor's decision on a claim to U.S. citizenship, with the reason (docs/domain.md §4)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="citizenship_decisions")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="citizenship_decisions", db_index=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    decision = models.CharField(max_length=10, choices=ClaimDecision.choices)
    reason = models.CharField(max_length=500)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["case", "decided_at"]), models.Index(fields=["office", "decided_at"])]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="claim_decision_has_reason")]
