"""The words the public reads about an alert: an incident's title and its updates. Never the
alert's raw detail: a rule's `description`, a log alert's matched lines and any label can
carry a server's file paths, host names, process ids, request URLs or document ids. That
detail stays with the operators (the admin API keeps every notification as received).

The title is, in order: a sentence of ours for the alerts a visitor may meet (the table
below), the alert's `summary` when it reads as plain text, else a sentence per source (metric
alerts from Prometheus, log alerts from ElastAlert).
"""

from __future__ import annotations

import re

from status_service.alerts import Alert

# {about}: the component the alert is about, or a phrase for the whole platform.
TITLES: dict[str, str] = {
    "ServiceDown": "{about} is unavailable",
    "HighErrorRate": "{about} is failing some requests",
    "HighLatencyP95": "{about} is responding slowly",
    "SlowResponses": "{about} is responding slowly",
    "ErrorSpike": "{about} reports a burst of errors",
    "SystemFailure": "A system failure was reported",
    "CircuitBreakerOpen": "{about} cannot reach a service it depends on",
}
SOURCE_TITLES = {"metrics": "{about} has a problem", "logs": "{about} logged errors"}
SOURCE_BODIES = {
    "metrics": "Our monitoring detected a problem with {about}. We are investigating.",
    "logs": "Our logs show errors in {about}. We are investigating.",
}
RESOLVED_BODY = "This incident has been resolved."
PLATFORM = "the platform"

# What marks a text as internal: a summary with any of these is not shown.
_INTERNAL = re.compile(
    r"[a-z][a-z0-9+.-]*://"  # a URL
    r"|(?:^|[\s(\"'=])(?:~|\.{1,2})?/[\w.-]+"  # a file path
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"  # an IPv4 address
    r"|\b[a-z][\w.-]*:\d{2,5}\b"  # host:port
    r"|\bpid\b|\[\d+\]"  # a process id
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-|\b[0-9a-f]{12,}\b"  # a UUID, a hash, a document id
    r"|[{}<>]",  # a raw document or markup
    re.IGNORECASE,
)


def looks_internal(text: str) -> bool:
    return bool(_INTERNAL.search(text))


def _source(alert: Alert) -> str:
    return "logs" if alert.labels.get("source") == "elastalert" else "metrics"


def _about(component: str | None) -> str:
    return component or PLATFORM


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def alert_title(alert: Alert, component: str | None) -> str:
    name = alert.labels.get("alertname", "")
    summary = alert.annotations.get("summary", "").strip()
    if name in TITLES:
        template = TITLES[name]
    elif summary and _source(alert) == "metrics" and not looks_internal(summary):
        return summary
    else:
        template = SOURCE_TITLES[_source(alert)]
    return _sentence(template.format(about=_about(component)))


def alert_body(alert: Alert, component: str | None) -> str:
    return SOURCE_BODIES[_source(alert)].format(about=_about(component))
