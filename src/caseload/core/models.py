"""The append-only, hash-chained audit log (docs/audit.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One action or read by a user or a process.

    Rows are never updated or deleted: database triggers refuse it (see migration 0002), and
    each row's ``hash`` covers its content and the previous row's hash, so
    ``caseload audit verify`` detects any change made behind the triggers' back.
    """

    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, db_constraint=False
    )
    actor_label = models.CharField(max_length=150, help_text="user name or process (e.g. 'cli:generate')")
    action = models.CharField(max_length=80, help_text="dotted verb, e.g. 'case.read', 'docket.generated'")
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    office_id = models.IntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["action"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")

    def __str__(self) -> str:
        return f"#{self.pk} {self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class Account(models.Model):
    """What a user account needs beyond Django's user: the office a supervisor oversees.

    An officer user's office comes from their officer record (``Officer.user``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="caseload_account")
    office = models.ForeignKey("offices.FieldOffice", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", help_text="the office a supervisor oversees")

    def __str__(self) -> str:
        return f"{self.user} ({self.office_id or 'no office'})"


class BulkLoad(models.Model):
    """A bulk load that dropped indexes or foreign keys (``caseload.core.bulk.BulkLoader``).

    The row is written in the same transaction as the drop and deleted in the one that
    restores what was dropped, so a load killed in between leaves a durable record: the next
    load, ``caseload init`` or ``caseload doctor --repair`` restores ``dropped``. A load that
    cannot be resumed by running it again (``resumable`` false: the generator) keeps its row,
    with nothing left to restore, as the mark that its partial data must be cleared."""

    label = models.CharField(max_length=80, help_text="what loads, e.g. 'generate' or 'import:removals'")
    owner = models.CharField(max_length=200, help_text="host:pid of the loading process")
    started_at = models.DateTimeField()
    resumable = models.BooleanField(default=True, help_text="running the load again completes it")
    dropped = models.JSONField(default=list, help_text="[{kind, table, name, definition}] to restore")

    def __str__(self) -> str:
        return f"{self.label} ({self.owner}, {self.started_at:%Y-%m-%d %H:%M:%S})"


class ApiToken(models.Model):
    """A personal API token (``Authorization: Bearer …``), stored only as the SHA-256 digest of
    the token. The token is ``cl_<prefix>_<secret>``: the prefix finds the row, the digest of
    the whole token is compared in constant time (caseload.core.tokens)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=16, unique=True, help_text="public part of the token that identifies it")
    digest = models.CharField(max_length=64, help_text="SHA-256 hex digest of the whole token")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id} ({self.prefix})"
