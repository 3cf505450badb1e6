"""Countries (ISO 3166 via pycountry), their cooperation tier with history, travel documents,
escalation tasks for refused or stalled documents, and foreseeability reviews (docs/countries.md).

Columns added after the synthetic generator's column lists were fixed carry a database default
(``db_default``) or are nullable, so bulk inserts that name only the original columns still work.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class CooperationTier(models.TextChoices):
    COOPERATIVE = "cooperative", "Cooperative"
    DELAYED = "delayed", "Cooperative but delayed"
    RESTRICTED = "restricted", "Restricted (annual quota)"
    UNCOOPERATIVE = "uncooperative", "Uncooperative"


class Country(models.Model):
    """A country. ``cooperation_tier`` and ``annual_document_quota`` mirror the tier history row
    in force today; the history (:class:`CooperationTierChange`) is the record."""

    code = models.CharField(max_length=2, primary_key=True, help_text="ISO 3166-1 alpha-2")
    alpha3 = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=120)
    cooperation_tier = models.CharField(max_length=16, choices=CooperationTier.choices, default=CooperationTier.COOPERATIVE)
    annual_document_quota = models.IntegerField(null=True, blank=True, help_text="travel documents issued a year, where limited")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CooperationTierChange(models.Model):
    """A country's tier (and annual quota) from a date on, with the document that set it."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="tier_history")
    tier = models.CharField(max_length=16, choices=CooperationTier.choices)
    annual_document_quota = models.IntegerField(null=True, blank=True,
                                                help_text="travel documents the country issues a year, where limited")
    effective_on = models.DateField()
    source = models.CharField(max_length=300)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150, blank=True, db_default="")

    class Meta:
        ordering = ["country_id", "effective_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["country", "effective_on"], name="one_tier_change_per_country_day"),
            models.CheckConstraint(condition=Q(annual_document_quota__isnull=True) | Q(annual_document_quota__gte=0),
                                   name="tier_quota_nonnegative"),
        ]


class TravelDocumentStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    INTERVIEW = "interview", "Consular interview"
    ISSUED = "issued", "Issued"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


PENDING_STATUSES = (TravelDocumentStatus.REQUESTED, TravelDocumentStatus.INTERVIEW)
ISSUED_STATUSES = (TravelDocumentStatus.ISSUED, TravelDocumentStatus.EXPIRED)


class TravelDocumentRequest(models.Model):
    """A request to a consulate for a travel document. Status changes go through
    :func:`caseload.countries.travel_documents.check_transition`.

    ``decided_on`` is the consulate's decision (issued or refused); ``closed_on`` the day a
    request was withdrawn or an issued document expired.
    """

    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="travel_document_requests")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT)
    country = models.ForeignKey(Country, on_delete=models.PROTECT)
    requested_on = models.DateField()
    status = models.CharField(max_length=12, choices=TravelDocumentStatus.choices, default=TravelDocumentStatus.REQUESTED)
    decided_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=200, blank=True)
    interview_on = models.DateField(null=True, blank=True, help_text="date of the consular interview")
    closed_on = models.DateField(null=True, blank=True, help_text="withdrawn or expired on")
    withdrawal_reason = models.CharField(max_length=200, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["country", "status"]), models.Index(fields=["office", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decided_on__isnull=True) | models.Q(decided_on__gte=models.F("requested_on")),
                name="td_decided_after_requested",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["issued", "refused"]) | models.Q(decided_on__isnull=False),
                name="td_decision_has_date",
            ),
            models.CheckConstraint(
                condition=Q(interview_on__isnull=True) | Q(interview_on__gte=F("requested_on")),
                name="td_interview_after_requested",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("requested_on")),
                name="td_closed_after_requested",
            ),
        ]

    def __str__(self) -> str:
        return f"travel document request {self.pk} ({self.country_id}, {self.status})"


class EscalationStep(models.TextChoices):
    """The order in which a refused or stalled request is escalated (docs/domain.md §4)."""

    CONSULATE_CONTACT = "consulate_contact", "Contact the consulate"
    HEADQUARTERS_REVIEW = "headquarters_review", "Headquarters review"
    DIPLOMATIC_ESCALATION = "diplomatic_escalation", "Diplomatic escalation (State Department)"


class EscalationReason(models.TextChoices):
    REFUSED = "refused", "Travel document refused"
    STALLED = "stalled", "Request pending past the threshold"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved (document issued or case closed)"
    UNRESOLVED = "unresolved", "Done without result: next step opened"
    LAPSED = "lapsed", "Not done by its due date: next step opened"
    CANCELLED = "cancelled", "Cancelled (request withdrawn)"


class TravelDocumentEscalation(models.Model):
    """One escalation task on one request; steps are opened in :class:`EscalationStep` order."""

    request = models.ForeignKey(TravelDocumentRequest, on_delete=models.CASCADE, related_name="escalations")
    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="travel_document_escalations",
                             db_index=False)
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, db_index=False)
    step = models.CharField(max_length=24, choices=EscalationStep.choices)
    reason = models.CharField(max_length=12, choices=EscalationReason.choices)
    opened_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=EscalationStatus.choices, default=EscalationStatus.OPEN)
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["country", "status"]), models.Index(fields=["office", "status"]),
                   models.Index(fields=["case", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["request", "step"], name="one_escalation_step_per_request"),
            # Repeated refusals escalate in order: one open task per level and case, never parallel ones.
            models.UniqueConstraint(fields=["case", "step"], condition=Q(status="open"), name="one_open_escalation_per_case_step"),
            models.CheckConstraint(condition=Q(due_on__gte=F("opened_on")), name="escalation_due_after_opened"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_on__isnull=True)) | (~Q(status="open") & Q(closed_on__isnull=False)),
                name="escalation_closed_has_date",
            ),
        ]


class ReviewReason(models.TextChoices):
    DOCUMENT_REFUSED = "document_refused", "A travel-document request on the case was refused"
    COUNTRY_TIER = "country_tier", "Country delayed, restricted or uncooperative and no travel document held"
    NO_DOCUMENT = "no_document", "No travel document held long after the final order"
    UNCOOPERATIVE_COUNTRY = "uncooperative_country", "Country of citizenship is uncooperative (earlier criterion)"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Awaiting review"
    DECIDED = "decided", "Reviewed"


class ReviewDecision(models.TextChoices):
    REMOVAL_FORESEEABLE = "removal_foreseeable", "Removal reasonably foreseeable"
    REMOVAL_NOT_FORESEEABLE = "removal_not_foreseeable", "Removal not reasonably foreseeable"


class ForeseeabilityReview(models.Model):
    """A final-order case whose removal may not be reasonably foreseeable, flagged for review.

    The criminal-history facts are a snapshot taken when the case was flagged, so the reviewer
    and any later audit see what the decision was based on. A release decision on a case that
    meets the criteria is refused until a decided review is on record
    (:func:`caseload.countries.escalation.check_release_decision_allowed`).
    """

    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="foreseeability_reviews")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT, db_index=False)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, db_index=False)
    flagged_on = models.DateField()
    reasons = models.JSONField(default=list, help_text="ReviewReason codes")
    final_order_date = models.DateField()
    convictions = models.IntegerField(default=0)
    felonies = models.IntegerField(default=0)
    aggravated_felonies = models.IntegerField(default=0)
    last_conviction_on = models.DateField(null=True, blank=True)
    longest_custody_days = models.IntegerField(default=0)
    pending_criminal_charges = models.IntegerField(default=0)
    national_security_flag = models.BooleanField(default=False)
    gang_flag = models.BooleanField(default=False)
    facts = models.JSONField(default=dict, help_text="convictions and travel-document history as of flagging")
    status = models.CharField(max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    decision = models.CharField(max_length=24, choices=ReviewDecision.choices, blank=True)
    rationale = models.TextField(blank=True)
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    checklist = models.JSONField(null=True, blank=True,
                                 help_text="the decider's checklist: criminal history reviewed, consulate contacted "
                                           "(date), escalation level reached, risk assessment")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["office", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="open"), name="one_open_review_per_case"),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(decision="") & Q(decided_on__isnull=True))
                | (Q(status="decided") & ~Q(decision="") & ~Q(rationale="") & Q(decided_on__isnull=False)),
                name="review_decided_has_decision",
            ),
        ]
