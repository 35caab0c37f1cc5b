"""Checks attached to components, their running state, results, state changes and rollups."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident
from statuspage.models import Component, ComponentStatus

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_SECONDS = 86400
MAX_TIMEOUT_SECONDS = 60
MAX_THRESHOLD = 20


class CheckKind(models.TextChoices):
    HTTP = "http", "HTTP(S) request"
    TCP = "tcp", "TCP connect"
    TLS = "tls", "TLS certificate expiry"
    UPSTREAM = "upstream", "Upstream status page"
    ALERT = "alert", "Alert rule (Alertmanager, Grafana)"


class HttpMethod(models.TextChoices):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"


class IncidentMode(models.TextChoices):
    PUBLISH = "publish", "Open a public incident at once"
    DRAFT = "draft", "Open a draft incident for staff to publish"
    STATUS_ONLY = "status_only", "Only set the component's status, open no incident"


class OutageStatus(models.TextChoices):
    DEGRADED_PERFORMANCE = ComponentStatus.DEGRADED_PERFORMANCE.value, "Degraded performance"
    PARTIAL_OUTAGE = ComponentStatus.PARTIAL_OUTAGE.value, "Partial outage"
    MAJOR_OUTAGE = ComponentStatus.MAJOR_OUTAGE.value, "Major outage"


class Level(models.IntegerChoices):
    """What one probe saw."""

    UP = 0, "Up"
    DEGRADED = 1, "Degraded"
    DOWN = 2, "Down"


class CheckStateName(models.TextChoices):
    """A check's confirmed state: it moves only after enough consecutive observations."""

    UNKNOWN = "unknown", "Unknown"
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"


STATE_VALUES = [value for value, _ in CheckStateName.choices]
JSON_OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "contains", "exists", "not exists"]


def parse_status_codes(spec: str) -> list[tuple[int, int]]:
    """Parse "200-299,304" into inclusive ranges; raise ValueError on anything else."""
    ranges: list[tuple[int, int]] = []
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not (100 <= first <= last <= 599):
            raise ValueError(part)
        ranges.append((first, last))
    if not ranges:
        raise ValueError(spec)
    return ranges


def normalize_upstream_url(url: str) -> str:
    """A page's address or its summary.json: the summary.json to fetch."""
    url = url.strip()
    if url.endswith(".json"):
        return url
    return url.rstrip("/") + "/api/v2/summary.json"


class CheckQuerySet(models.QuerySet["Check"]):
    def active(self) -> CheckQuerySet:
        return self.filter(is_active=True)


class Check(models.Model):
    """Something the checker probes on an interval, on behalf of one component."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(
        max_length=200,
        blank=True,
        help_text="Used in incident messages, e.g. “the US data center API”. "
        "Defaults to the component's name.",
    )
    kind = models.CharField(max_length=16, choices=CheckKind.choices, default=CheckKind.HTTP)
    is_active = models.BooleanField("active", default=True)

    # HTTP(S)
    url = models.CharField(
        "URL", max_length=2000, blank=True, help_text="http:// or https:// address to request."
    )
    method = models.CharField(max_length=8, choices=HttpMethod.choices, default=HttpMethod.GET)
    request_headers = models.JSONField(
        default=dict, blank=True, help_text='A JSON object, e.g. {"Authorization": "Bearer …"}.'
    )
    request_body = models.TextField(blank=True)
    expected_status_codes = models.CharField(
        max_length=100, default="200-299", help_text="Codes and ranges, e.g. 200-299,304."
    )
    body_contains = models.CharField(
        max_length=500, blank=True, help_text="Text the response body must contain."
    )
    json_conditions = models.JSONField(
        "JSON conditions",
        default=list,
        blank=True,
        help_text='A JSON list, e.g. [{"path": "status.indicator", "op": "==", "value": "none"}]. '
        "Operators: " + ", ".join(JSON_OPERATORS) + ".",
    )
    follow_redirects = models.BooleanField(default=True)
    tls_verify = models.BooleanField(
        "verify TLS", default=True, help_text="Check the certificate's chain and host name."
    )
    degraded_latency_ms = models.PositiveIntegerField(
        "degraded above (ms)",
        null=True,
        blank=True,
        help_text="A response slower than this counts as degraded performance.",
    )

    # TCP and TLS
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    tls_days_left_threshold = models.PositiveSmallIntegerField(
        "days left threshold",
        default=14,
        help_text="A certificate expiring within this many days counts as degraded; "
        "an expired or untrusted one as down.",
    )

    # Upstream status page
    upstream_url = models.CharField(
        "upstream page",
        max_length=2000,
        blank=True,
        help_text="The other page's address or its /api/v2/summary.json.",
    )
    upstream_component = models.CharField(
        max_length=200, blank=True, help_text="The component's id or exact name on that page."
    )

    # Schedule and thresholds
    interval_seconds = models.PositiveIntegerField(
        "interval (s)",
        default=60,
        validators=[
            MinValueValidator(MIN_INTERVAL_SECONDS),
            MaxValueValidator(MAX_INTERVAL_SECONDS),
        ],
    )
    timeout_seconds = models.FloatField(
        "timeout (s)",
        default=10.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(MAX_TIMEOUT_SECONDS)],
    )
    failure_threshold = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_THRESHOLD)],
        help_text="Consecutive failures before the checker acts.",
    )
    success_threshold = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_THRESHOLD)],
        help_text="Consecutive successes before it calls a recovery.",
    )

    # What a confirmed failure does
    outage_status = models.CharField(
        max_length=32,
        choices=OutageStatus.choices,
        default=OutageStatus.MAJOR_OUTAGE,
        help_text="The component's status while this check is down "
        "(upstream checks mirror the other page instead).",
    )
    incident_mode = models.CharField(
        max_length=16, choices=IncidentMode.choices, default=IncidentMode.PUBLISH
    )

    # Alert rules: the rule whose matching alerts this check follows (one check per component
    # the rule maps); the rule keeps it in step, staff never edit it.
    alert_rule = models.ForeignKey(
        "AlertRule",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="checks",
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CheckQuerySet.as_manager()

    class Meta:
        ordering = ["component", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[v for v, _ in CheckKind.choices]), name="check_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=[v for v, _ in HttpMethod.choices]),
                name="check_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(incident_mode__in=[v for v, _ in IncidentMode.choices]),
                name="check_incident_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(outage_status__in=[v for v, _ in OutageStatus.choices]),
                name="check_outage_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=MIN_INTERVAL_SECONDS)
                & Q(interval_seconds__lte=MAX_INTERVAL_SECONDS),
                name="check_interval_in_range",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gt=0)
                & Q(timeout_seconds__lte=MAX_TIMEOUT_SECONDS)
                & Q(timeout_seconds__lt=models.F("interval_seconds")),
                name="check_timeout_in_range",
            ),
            models.CheckConstraint(
                condition=Q(failure_threshold__gte=1)
                & Q(failure_threshold__lte=MAX_THRESHOLD)
                & Q(success_threshold__gte=1)
                & Q(success_threshold__lte=MAX_THRESHOLD),
                name="check_thresholds_in_range",
            ),
            models.CheckConstraint(
                condition=Q(degraded_latency_ms__isnull=True) | Q(degraded_latency_ms__gt=0),
                name="check_degraded_latency_positive",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=CheckKind.HTTP) & ~Q(url="")
                    | Q(kind__in=[CheckKind.TCP, CheckKind.TLS])
                    & ~Q(host="")
                    & Q(port__isnull=False)
                    & Q(port__gte=1)
                    & Q(port__lte=65535)
                    | Q(kind=CheckKind.UPSTREAM) & ~Q(upstream_url="") & ~Q(upstream_component="")
                    | Q(kind=CheckKind.ALERT) & Q(alert_rule__isnull=False)
                ),
                name="check_has_a_target",
            ),
            models.CheckConstraint(
                condition=Q(alert_rule__isnull=True) | Q(kind=CheckKind.ALERT),
                name="check_alert_rule_only_for_alerts",
            ),
            models.UniqueConstraint(
                fields=["alert_rule", "component"],
                condition=Q(alert_rule__isnull=False),
                name="check_one_per_alert_rule_and_component",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.target}"

    @property
    def label(self) -> str:
        """How incident messages name what is checked."""
        return self.name or self.component.name

    @property
    def target(self) -> str:
        if self.kind == CheckKind.HTTP:
            return self.url
        if self.kind == CheckKind.UPSTREAM:
            return f"{self.upstream_component} on {self.upstream_url}"
        if self.kind == CheckKind.ALERT:
            return f"alerts matching {self.alert_rule}"
        return f"{self.host}:{self.port}"

    @property
    def target_host(self) -> str:
        """The host a probe contacts: what the per-host cap and the backoff apply to."""
        if self.kind == CheckKind.HTTP:
            return (urlsplit(self.url).hostname or "").lower()
        if self.kind == CheckKind.UPSTREAM:
            return (urlsplit(normalize_upstream_url(self.upstream_url)).hostname or "").lower()
        return self.host.lower()

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.kind == CheckKind.HTTP:
            self._clean_http(add)
        elif self.kind in (CheckKind.TCP, CheckKind.TLS):
            if not self.host.strip():
                add("host", "A TCP or TLS check needs a host.")
            if self.port is None:
                add("port", "A TCP or TLS check needs a port (TLS is usually 443).")
            if self.kind == CheckKind.TLS and self.tls_days_left_threshold > 365:
                add("tls_days_left_threshold", "Use at most 365 days.")
        elif self.kind == CheckKind.UPSTREAM:
            parts = urlsplit(self.upstream_url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                add("upstream_url", "Enter the page's http:// or https:// address.")
            if not self.upstream_component.strip():
                add("upstream_component", "Name the component to follow (its id or exact name).")
        elif self.kind == CheckKind.ALERT and self.alert_rule_id is None:
            add("kind", "Alert checks come from alert rules: add a rule under Alert rules.")
        if (
            self.timeout_seconds is not None
            and self.interval_seconds is not None
            and self.timeout_seconds >= self.interval_seconds
        ):
            add("timeout_seconds", "The timeout must be shorter than the interval.")
        if errors:
            raise ValidationError(errors)

    def _clean_http(self, add: Callable[[str, str], None]) -> None:
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            add("url", "Enter an http:// or https:// address.")
        try:
            parse_status_codes(self.expected_status_codes)
        except ValueError:
            add(
                "expected_status_codes",
                "Use codes between 100 and 599 and ranges, separated by commas: 200-299,304.",
            )
        if not isinstance(self.request_headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.request_headers.items()
        ):
            add("request_headers", 'Enter a JSON object of strings: {"Header": "value"}.')
        if self.request_body and self.method in (HttpMethod.GET, HttpMethod.HEAD):
            add("request_body", "GET and HEAD requests carry no body; choose POST, PUT or PATCH.")
        for message in json_condition_errors(self.json_conditions):
            add("json_conditions", message)
        if self.method == HttpMethod.HEAD and (self.body_contains or self.json_conditions):
            add("method", "A HEAD response has no body to search; use GET.")


def json_condition_errors(conditions: object) -> list[str]:
    """What is wrong with a list of JSON conditions, in words for the admin form."""
    if not isinstance(conditions, list):
        return ['Enter a JSON list of conditions: [{"path": "a.b", "op": "==", "value": 1}].']
    errors = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or not isinstance(condition.get("path"), str):
            errors.append(f"Condition {number} needs a “path” such as “status.indicator”.")
            continue
        if not condition["path"].strip():
            errors.append(f"Condition {number} has an empty path.")
        op = condition.get("op", "==")
        if op not in JSON_OPERATORS:
            errors.append(f"Condition {number}: unknown operator {op!r}.")
        elif op not in ("exists", "not exists") and "value" not in condition:
            errors.append(f"Condition {number} needs a “value” to compare with.")
        extra = set(condition) - {"path", "op", "value"}
        if extra:
            errors.append(f"Condition {number}: unknown keys {', '.join(sorted(extra))}.")
    return errors


class CheckState(models.Model):
    """Where a check stands: when it runs next, its confirmed state and its recent observations.

    Kept apart from `Check` so that saving a check in the admin never overwrites what the
    workers write.
    """

    owner = models.OneToOneField(
        Check, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    next_run_at = models.DateTimeField(db_index=True)
    state = models.CharField(
        max_length=16, choices=CheckStateName.choices, default=CheckStateName.UNKNOWN
    )
    state_since = models.DateTimeField(null=True, blank=True)
    # The last few observations as [unix seconds, level]: enough for the thresholds.
    recent = models.JSONField(default=list, blank=True)
    # When the current bad stretch began and what failed then, in the outcome's public wording
    # (incident messages quote it; last_error keeps the detail).
    problem_since = models.DateTimeField(null=True, blank=True)
    problem_error = models.CharField(max_length=300, blank=True)
    # The status an upstream page last gave the component it follows.
    observed_status = models.CharField(max_length=32, blank=True)
    # The component status this check calls for.
    desired_status = models.CharField(
        max_length=32, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    last_result_at = models.DateTimeField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=STATE_VALUES), name="checkstate_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner}: {self.state}"


class CheckTransition(models.Model):
    """One confirmed change of a check's state: when, from, to and why (flapping shows here)."""

    owner = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField()
    from_state = models.CharField(max_length=16, choices=CheckStateName.choices)
    to_state = models.CharField(max_length=16, choices=CheckStateName.choices)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["owner", "at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_state__in=STATE_VALUES) & Q(to_state__in=STATE_VALUES),
                name="checktransition_states_valid",
            ),
            models.CheckConstraint(
                condition=~Q(from_state=models.F("to_state")),
                name="checktransition_changes_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner}: {self.from_state} → {self.to_state} at {self.at}"


class CheckResult(models.Model):
    """One probe's outcome; kept for CHECKER_RESULT_RETENTION_DAYS, then only its rollups remain."""

    owner = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    at = models.DateTimeField()
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["owner", "at"], name="checkresult_owner_at"),
            models.Index(fields=["at"], name="checkresult_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=[v for v, _ in Level.choices]), name="checkresult_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} at {self.at}: {self.get_level_display()}"


class CheckRollup(models.Model):
    """A month of one check's rollups: hourly and daily count, failures, mean and p95 latency.

    The figures are packed (see checker.rollups) so that a year of rollups for a thousand
    checks stays within tens of megabytes; one row per check and month.
    """

    owner = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="rollups")
    month = models.DateField(help_text="The first day of the month (UTC).")
    hours = models.BinaryField()
    days = models.BinaryField()

    class Meta:
        ordering = ["owner", "month"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "month"], name="checkrollup_one_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} in {self.month:%Y-%m}"


class RollupPeriod(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class RollupMark(models.Model):
    """A closed hour or day whose rollups are final, so the rollup task does it only once."""

    period = models.CharField(max_length=4, choices=RollupPeriod.choices)
    start = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "start"], name="rollupmark_unique"),
            models.CheckConstraint(
                condition=Q(period__in=[v for v, _ in RollupPeriod.choices]),
                name="rollupmark_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} from {self.start}"


class HostBackoff(models.Model):
    """A host that asked us to slow down (429, Retry-After): no probe goes there before `until`."""

    host = models.CharField(max_length=255, unique=True)
    until = models.DateTimeField()
    strikes = models.PositiveSmallIntegerField(default=1)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(host=""), name="hostbackoff_host_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.host} until {self.until}"


class AutomatedIncident(models.Model):
    """An incident the checker opened for a component, and how many updates it posted to it.

    An incident with more updates than the checker posted has been taken over by staff.
    """

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="+")
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    problem_since = models.DateTimeField()
    # What failed, in the past tense, for the resolving update: "checks of the API failed: …".
    cause = models.CharField(max_length=1000, blank=True)
    updates_posted = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["component", "opened_at"])]

    def __str__(self) -> str:
        return f"{self.incident} (opened by the checker)"


class AlertIntegration(models.Model):
    """An alerting system (Alertmanager, Grafana) allowed to post its alerts here.

    It proves itself with a token given once when the integration is made; only the token's
    SHA-256 is kept, found by its public prefix and compared in constant time.
    """

    name = models.CharField(max_length=200, help_text="E.g. “Production Alertmanager”.")
    token_prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(
        "active", default=True, help_text="An inactive integration's posts are refused."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_received_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(token_prefix="") & ~Q(token_hash=""),
                name="alertintegration_has_a_token",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertRule(models.Model):
    """Which alerts of an integration (by label matchers) set which components to what status."""

    integration = models.ForeignKey(
        AlertIntegration, on_delete=models.CASCADE, related_name="rules"
    )
    name = models.CharField(max_length=200, help_text="For staff, e.g. “API errors”.")
    matchers = models.TextField(
        blank=True,
        help_text="One per line, as in Alertmanager: service=api, severity!=info, "
        "env=~prod|staging, team!~db.*. An alert matches when every line does; "
        "no lines match every alert of the integration.",
    )
    components = models.ManyToManyField(Component, related_name="+")
    outage_status = models.CharField(
        "status while firing",
        max_length=32,
        choices=OutageStatus.choices,
        default=OutageStatus.MAJOR_OUTAGE,
        help_text="The components' status while a matching alert fires "
        "(several firing: the worst wins).",
    )
    incident_mode = models.CharField(
        max_length=16, choices=IncidentMode.choices, default=IncidentMode.PUBLISH
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["integration", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outage_status__in=[v for v, _ in OutageStatus.choices]),
                name="alertrule_outage_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(incident_mode__in=[v for v, _ in IncidentMode.choices]),
                name="alertrule_incident_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class ReceivedAlert(models.Model):
    """One alert as its integration last told of it, known by the sender's fingerprint."""

    integration = models.ForeignKey(
        AlertIntegration, on_delete=models.CASCADE, related_name="alerts"
    )
    fingerprint = models.CharField(max_length=128)
    status = models.CharField(max_length=8, choices=AlertStatus.choices)
    labels = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "fingerprint"], name="receivedalert_one_per_fingerprint"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[v for v, _ in AlertStatus.choices]),
                name="receivedalert_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.labels.get('alertname') or self.fingerprint}: {self.status}"
