"""Alerting rules, as a Prometheus rule-file document (``aierrors.alerts.yaml``).

Alerts are named ``AIErrors...``, each with ``severity``, an explicit ``for``,
``summary``, ``description`` and ``runbook_url``; they load in Prometheus,
Mimir and Grafana's data-source-managed alerting. They are located by
provider (``gen_ai_provider_name``) as well as by address, so SDKs that share
a gateway are told apart.

Every window goes through a :class:`~.durations.Scale`, so that the test
variant (``--windows-scale``) differs from production only in its windows.
Cancelled calls and attempts (``aierrors_outcome="cancelled"``) count in no
ratio: the application stopped them, the provider did not fail them.
"""

from __future__ import annotations

from typing import Any

from . import config as c
from .durations import Scale
from .recording import BY as _SLO_BY
from .recording import COUNTED_CALLS, slo_ratio_rule, soft_failure_rule

__all__ = ["alert_groups"]

Rule = dict[str, Any]

_PROVIDER_BY = ", ".join(c.PROVIDER_LABELS)
#: Attempts that count in a ratio: every outcome but ``cancelled``.
_COUNTED_ATTEMPTS = f"{c.ATTEMPTS}{{{c.NOT_CANCELLED}}}"


def _number(value: float) -> str:
    return f"{round(value, 10):g}"


def _times(factor: float) -> str:
    return "more than" if factor == 1 else f"{_number(factor)} times"


def _alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    summary: str,
    description: str,
    extra_labels: dict[str, str] | None = None,
) -> Rule:
    labels = {"severity": severity, **(extra_labels or {})}
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": labels,
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{c.RUNBOOK_URL}#{name.lower()}",
        },
    }


_WHERE_MODEL = (
    "model {{ $labels.gen_ai_request_model }} of {{ $labels.gen_ai_provider_name }} at {{ $labels.server_address }} "
    "(job {{ $labels.job }})"
)


def _slo_alerts(scale: Scale, objective: float) -> list[Rule]:
    budget = 1 - objective
    rules = []
    for window in c.BURN_RATE_WINDOWS:
        threshold = f"({_number(window.factor)} * {_number(budget)})"
        speed = "fast" if window.severity == "critical" else "slowly"
        rules.append(
            _alert(
                "AIErrorsErrorBudgetBurn",
                (f"{slo_ratio_rule(window.long)} > {threshold}\nand\n{slo_ratio_rule(window.short)} > {threshold}\n"),
                scale(window.for_),
                window.severity,
                f"Calls to a model are burning the error budget {speed}.",
                (
                    f"{{{{ $value | humanizePercentage }}}} of the calls to {_WHERE_MODEL} failed over the last "
                    f"{window.long} (and still over the last {window.short}): {_times(window.factor)} the "
                    f"error rate the {_number(objective * 100)}% objective allows. At this rate "
                    f"{_number(window.budget_spent() * 100)}% of the 30-day error budget is spent every "
                    f"{window.long}."
                ),
                {"long": window.long, "short": window.short},
            )
        )
    return rules


def _credential_alert(scale: Scale, name: str, error_class: str, what: str, summary: str) -> Rule:
    window = scale(c.THRESHOLDS.credentials_window)
    selector = f'{c.ATTEMPTS}{{aierrors_error_class="{error_class}"}}'
    return _alert(
        name,
        (
            f"sum by ({_PROVIDER_BY}) (increase({selector}[{window}])) > 0\n"
            f"or\n"
            f"# A series born in the window: its first failure is invisible to increase().\n"
            f"sum by ({_PROVIDER_BY}) ({selector} unless {selector} offset {window})\n"
        ),
        "0s",
        "critical",
        summary,
        (
            f"{{{{ $labels.job }}}} got {{{{ $value | humanize }}}} {what} from "
            f"{{{{ $labels.gen_ai_provider_name }}}} at {{{{ $labels.server_address }}}} "
            f"in the last {c.THRESHOLDS.credentials_window}. This does not heal by itself: every call with this "
            f"key fails until someone acts."
        ),
    )


def _provider_alerts(scale: Scale) -> list[Rule]:
    t = c.THRESHOLDS
    failing = scale(t.all_attempts_failed_window)
    ratio = scale(t.ratio_window)
    return [
        _credential_alert(
            scale,
            "AIErrorsAuthenticationFailures",
            "auth",
            "authentication failures (401, invalid or expired API key)",
            "A provider rejects the API key.",
        ),
        _credential_alert(
            scale,
            "AIErrorsQuotaExhausted",
            "quota_exhausted",
            "quota-exhausted answers (insufficient quota or balance, billing limit)",
            "The quota or balance of an API key is exhausted.",
        ),
        _alert(
            "AIErrorsProviderFailingAllAttempts",
            (
                f'sum by ({_PROVIDER_BY}) (rate({c.ATTEMPTS}{{aierrors_outcome="error"}}[{failing}])) > 0\n'
                f"unless\n"
                f'sum by ({_PROVIDER_BY}) (rate({c.ATTEMPTS}{{aierrors_outcome="ok"}}[{failing}])) > 0\n'
            ),
            scale(t.all_attempts_failed_for),
            "critical",
            "Every attempt to a provider fails.",
            (
                f"Not one HTTP attempt from {{{{ $labels.job }}}} to {{{{ $labels.gen_ai_provider_name }}}} at "
                f"{{{{ $labels.server_address }}}} succeeded "
                f"in the last {t.all_attempts_failed_window}, retries included "
                f'({{{{ $value | printf "%.2f" }}}} failed attempts per second).'
            ),
        ),
        _alert(
            "AIErrorsRateLimitSaturation",
            (
                f'sum by ({_SLO_BY}) (rate({c.ATTEMPTS}{{aierrors_error_class="rate_limit"}}[{ratio}]))\n'
                f"/\n"
                f"sum by ({_SLO_BY}) (rate({_COUNTED_ATTEMPTS}[{ratio}]))\n"
                f"> {_number(t.rate_limited_ratio)}\n"
            ),
            scale(t.ratio_for),
            "warning",
            "A model is rate limited.",
            (
                f"{{{{ $value | humanizePercentage }}}} of the HTTP attempts to {_WHERE_MODEL} were answered "
                f"with a rate limit (429) over the last {t.ratio_window}."
            ),
        ),
    ]


def _retry_alerts(scale: Scale) -> list[Rule]:
    t = c.THRESHOLDS
    ratio = scale(t.ratio_window)
    return [
        _alert(
            "AIErrorsRetryStorm",
            (
                f"sum by ({_SLO_BY}) (rate({_COUNTED_ATTEMPTS}[{ratio}]))\n"
                f"/\n"
                f"sum by ({_SLO_BY}) (rate({COUNTED_CALLS}[{ratio}]))\n"
                f"> {_number(t.attempts_per_call)}\n"
            ),
            scale(t.ratio_for),
            "warning",
            "Retries multiply the traffic to a model.",
            (
                f"Calls to {_WHERE_MODEL} made {{{{ $value | humanize }}}} HTTP attempts each on average "
                f"over the last {t.ratio_window}: the provider sees that many times the application's traffic."
            ),
        ),
        _alert(
            "AIErrorsWastedRetries",
            (
                f"sum by ({_SLO_BY}, aierrors_error_class) "
                f'(rate({c.ATTEMPTS}{{aierrors_retry_wasted="true"}}[{ratio}]))\n'
                f"/ ignoring (aierrors_error_class) group_left\n"
                f"sum by ({_SLO_BY}) (rate({_COUNTED_ATTEMPTS}[{ratio}]))\n"
                f"> {_number(t.wasted_retry_ratio)}\n"
            ),
            scale(t.ratio_for),
            "warning",
            "Retries are spent on failures that cannot succeed.",
            (
                f"{{{{ $value | humanizePercentage }}}} of the HTTP attempts to {_WHERE_MODEL} over the last "
                f"{t.ratio_window} retried a failure that is not retryable (the retry itself ended in "
                f"{{{{ $labels.aierrors_error_class }}}})."
            ),
        ),
        _alert(
            "AIErrorsFallbackRateHigh",
            (
                f"sum by (job, aierrors_fallback_from_model, aierrors_fallback_to_model) "
                f"(rate({c.FALLBACK_HOPS}[{ratio}]))\n"
                f"/ on (job) group_left\n"
                f"sum by (job) (rate({COUNTED_CALLS}[{ratio}]))\n"
                f"> {_number(t.fallback_ratio)}\n"
            ),
            scale(t.ratio_for),
            "warning",
            "A service falls back to another model often.",
            (
                f"{{{{ $labels.job }}}} fell back from {{{{ $labels.aierrors_fallback_from_model }}}} to "
                f"{{{{ $labels.aierrors_fallback_to_model }}}} on {{{{ $value | humanizePercentage }}}} of its "
                f"calls over the last {t.ratio_window}."
            ),
        ),
    ]


def _answer_alerts(scale: Scale) -> list[Rule]:
    t = c.THRESHOLDS
    ratio = scale(t.ratio_window)
    rules = []
    for name, kind, what in (
        ("AIErrorsContentFilterSpike", "content_filtered", "were content-filtered"),
        ("AIErrorsTruncationSpike", "truncated", "were truncated (finish_reason length)"),
    ):
        recent = soft_failure_rule(kind, t.ratio_window)
        baseline = soft_failure_rule(kind, t.baseline_window)
        rules.append(
            _alert(
                name,
                (
                    f"{recent} > {_number(t.soft_failure_ratio)}\n"
                    f"and\n"
                    f"{recent} > {_number(t.soft_failure_baseline_factor)} * {baseline}\n"
                ),
                scale(t.ratio_for),
                "warning",
                f"Answers of a model {what.split(' (')[0]} more than usual.",
                (
                    f"{{{{ $value | humanizePercentage }}}} of the calls to {_WHERE_MODEL} {what} over the last "
                    f"{t.ratio_window}, more than {_number(t.soft_failure_baseline_factor)} times the share of "
                    f"the last {t.baseline_window}."
                ),
            )
        )
    rules.append(
        _alert(
            "AIErrorsStreamInterruptions",
            (
                f"sum by ({_SLO_BY}) "
                f'(rate({c.CALLS}{{aierrors_stream="true", aierrors_error_class="stream_interrupted"}}[{ratio}]))\n'
                f"/\n"
                f'sum by ({_SLO_BY}) (rate({c.CALLS}{{aierrors_stream="true", {c.NOT_CANCELLED}}}[{ratio}]))\n'
                f"> {_number(t.stream_interrupted_ratio)}\n"
            ),
            scale(t.ratio_for),
            "warning",
            "Streams from a model break after they started.",
            (
                f"{{{{ $value | humanizePercentage }}}} of the streamed calls to {_WHERE_MODEL} broke "
                f"after the first chunk over the last {t.ratio_window}."
            ),
        )
    )
    return rules


def _breaker_alerts(scale: Scale) -> list[Rule]:
    t = c.THRESHOLDS
    by = ", ".join(c.BREAKER_LABELS)
    return [
        _alert(
            "AIErrorsCircuitBreakerOpen",
            # min: one instance whose breaker is not closed is enough; the series appears at its first change.
            f'min by ({by}) ({c.BREAKER_STATUS}{{aierrors_breaker_state="closed"}}) == 0\n',
            scale(t.breaker_open_for),
            "warning",
            "A circuit breaker of the application stays open.",
            (
                "Circuit breaker {{ $labels.aierrors_breaker_name }} ({{ $labels.aierrors_breaker_library }}) "
                f"of job {{{{ $labels.job }}}} has not been closed for more than {t.breaker_open_for}: "
                "the calls it guards are refused without reaching the provider (class circuit_open)."
            ),
        )
    ]


def alert_groups(scale: Scale, objective: float) -> list[dict[str, Any]]:
    """The alerting rules, grouped by area."""
    if not 0 < objective < 1:
        raise ValueError(f"the objective must be between 0 and 1 (exclusive), got {objective}")
    return [
        {"name": "aierrors-slo", "rules": _slo_alerts(scale, objective)},
        {"name": "aierrors-provider", "rules": _provider_alerts(scale)},
        {"name": "aierrors-retries", "rules": _retry_alerts(scale)},
        {"name": "aierrors-answers", "rules": _answer_alerts(scale)},
        {"name": "aierrors-breakers", "rules": _breaker_alerts(scale)},
    ]
