"""Countries (ISO 3166 via pycountry), their cooperation tier with history, and travel documents."""

from __future__ import annotations

from django.db import models


class CooperationTier(models.TextChoices):
    COOPERATIVE = "cooperative", "Cooperative"
    DELAYED = "delayed", "Cooperative but delayed"
    RESTRICTED = "restricted", "Restricted (annual quota)"
    UNCOOPERATIVE = "uncooperative", "Uncooperative"


class Country(models.Model):
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
    """A country's tier as of a date, with the document that set it (the tier's history)."""

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="tier_history")
    tier = models.CharField(max_length=16, choices=CooperationTier.choices)
    effective_on = models.DateField()
    source = models.CharField(max_length=300)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["country_id", "effective_on", "id"]
        constraints = [models.UniqueConstraint(fields=["country", "effective_on"], name="one_tier_change_per_country_day")]


class TravelDocumentStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    INTERVIEW = "interview", "Consular interview"
    ISSUED = "issued", "Issued"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class TravelDocumentRequest(models.Model):
    case = models.ForeignKey("docket.Case", on_delete=models.CASCADE, related_name="travel_document_requests")
    office = models.ForeignKey("offices.FieldOffice", on_delete=models.PROTECT)
    country = models.ForeignKey(Country, on_delete=models.PROTECT)
    requested_on = models.DateField()
    status = models.CharField(max_length=12, choices=TravelDocumentStatus.choices, default=TravelDocumentStatus.REQUESTED)
    decided_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    refusal_reason = models.CharField(max_length=200, blank=True)

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
        ]
