"""How long each link of a drill's chain may take, from the runtime's monitoring profile
(stack/monitoring_profiles.py), so the budgets move with the alert rules they time.

- detect: a failed scrape is seen within one scrape interval, the rule is evaluated within
  another, then it must hold for `for_down`; one more interval for slack (a busy machine, the
  probe's own poll);
- notify: the same chain without the slack, plus Alertmanager's `group_wait` before the first
  email: the course's "kill to email within 30 s" on the local profile, so no slack is left
  there on purpose;
- resolve: the recovery scraped and evaluated (two intervals, one more for slack), plus
  `group_interval`, Alertmanager's pace for follow-up notifications;
- show: the status page polls every 5 s; three polls, so one slow probe does not count;
- detect errors: the error ratio is a rate over a minute; it needs about half of it to climb
  over the threshold, then `for_errors`;
- resolve errors: the minute of bad requests must leave the rate window (60 s), then be
  scraped and evaluated;
- rto: from a database dropped to its data served again; a restore of the reference
  databases takes seconds (docs/benchmarks.md), a minute is the objective;
- rto server: from the server lost to its data served again: a new server (`up`, seconds),
  then one restore per database, one after the other (10 to 15 s each under load here);
- resolve shipper: LogShipperDeliveryFailing needs the log-forwarder's retries in the last
  `events_window` and nothing delivered for 10 s, so it clears at the first delivery after
  the repair (which can come late, while the store starts); the budget still allows the whole
  window, one stats interval and two scrapes (from when rsyslog counted the failures itself);
- detect stale: the shipper's statistics must be older than the rule's minute, come up to one
  stats interval late, then hold for `for_down`;
- detect backups: the requested run reaches the database (a run of the four reference
  databases takes about 4 s here; 10 s allowed), its failure counter is scraped and
  evaluated, then `for_backups`;
- detect cpu: HostHighCpu averages over `cpu_window`, so a hog on an idle-ish machine needs
  most of the window, then `for_saturation`;
- resolve cpu: the window's busy share must fall under the threshold, which takes the
  window's idle allowance (10 % of it) in idle time; how fast idle time comes depends on how
  busy the machine stays after the hog (the load, the stack), so that share is measured over
  the wait (`resolve_cpu_s`), with Prometheus' own node counters;
- detect log alert: ErrorSpike needs 20 error lines of one service (seconds under the drill's
  load; 20 s allowed, shipping included), then ElastAlert's next query (every
  `log_rules_every`; twice, for slack) posts it to Alertmanager;
- show errors: the error alert's incident on the status page: HighErrorRate detected (as
  "detect errors") then `group_wait` before Alertmanager's webhook (ErrorSpike's comes sooner);
- show recovered errors: every incident the errors opened resolved, the later of two chains,
  then `group_interval` and one scrape interval of slack: HighErrorRate's (the minute leaving
  the rate window, scraped, evaluated) and ErrorSpike's (ElastAlert posts it again each
  minute while errors come, up to its query after the repair; Alertmanager ends it
  `resolve_timeout` after the last post);
- redeliver: an alert that fired while Alertmanager was down is sent again by Prometheus
  after its resend delay (one minute by default), then `group_wait`;
- logs: every line held back during a log pipeline outage is searchable after the repair
  (the log-forwarder retries every second; the services' RELP senders reconnect within one).
"""

from __future__ import annotations

import re

from stack.monitoring_profiles import profile, seconds
from stack.paths import CONFIG_DIR
from stack.runtimes.local.shipper import STATS_INTERVAL_SECONDS

STATUS_POLL_S = 5.0
RTO_S = 60.0
RTO_SERVER_S = 120.0
RATE_WINDOW_S = 60  # the error and latency rules' rates are over one minute (rules/services.yml)
RESEND_DELAY_S = 60  # Prometheus' --rules.alert.resend-delay, left at its default
LOGS_AFTER_REPAIR_S = 30.0
# A machine this busy after the hog gathers idle time too slowly for any budget worth the name:
# past it, the budget stops growing (HostHighCpu may rightly never resolve at 90 % busy).
BUSY_AFTER_CPU_HOG_MAX = 0.8
LOG_ALERT_EVENTS_S = 20  # ErrorSpike's 20 error lines: seconds at a drill's error rate, shipped
BACKUP_RUN_S = 10  # a backup run of every database, dump and restore test (4 s measured)


def alertmanager_resolve_timeout_s() -> int:
    """How long Alertmanager keeps an alert posted without an end (ElastAlert's), from its
    config: the same file for both runtimes."""
    text = (CONFIG_DIR / "alertmanager" / "alertmanager.yml").read_text()
    found = re.search(r"^\s*resolve_timeout:\s*(\S+)", text, re.MULTILINE)
    if found is None:
        raise ValueError("stack/config/alertmanager/alertmanager.yml sets no resolve_timeout")
    return seconds(found.group(1))


def budgets(runtime: str) -> dict[str, float]:
    """The budgets of one runtime, as the experiments' configuration keys."""
    p = profile(runtime)
    scrape = seconds(p.scrape_interval)
    chain = 2 * scrape + seconds(p.for_down)
    return {
        "budget_detect_s": float(chain + scrape),
        "budget_notify_s": float(chain + seconds(p.group_wait)),
        "budget_resolve_s": float(3 * scrape + seconds(p.group_interval)),
        "budget_show_s": 3 * STATUS_POLL_S,
        "budget_detect_errors_s": float(2 * scrape + 30 + seconds(p.for_errors)),
        "budget_resolve_errors_s": float(RATE_WINDOW_S + 2 * scrape),
        "budget_rto_s": RTO_S,
        "budget_rto_server_s": RTO_SERVER_S,
        "budget_resolve_shipper_s": float(
            seconds(p.events_window) + STATS_INTERVAL_SECONDS + 2 * scrape
        ),
        "budget_detect_stale_s": float(
            seconds(p.shipper_stats_max_age)
            + STATS_INTERVAL_SECONDS
            + 2 * scrape
            + seconds(p.for_down)
        ),
        "budget_detect_backups_s": float(BACKUP_RUN_S + 2 * scrape + seconds(p.for_backups)),
        "budget_detect_cpu_s": float(
            seconds(p.cpu_window) + 2 * scrape + seconds(p.for_saturation)
        ),
        "budget_detect_log_alert_s": float(LOG_ALERT_EVENTS_S + 2 * seconds(p.log_rules_every)),
        "budget_show_errors_s": float(
            2 * scrape + 30 + seconds(p.for_errors) + seconds(p.group_wait)
        ),
        "budget_show_recovered_errors_s": float(
            max(
                RATE_WINDOW_S + 2 * scrape,
                alertmanager_resolve_timeout_s() + 2 * seconds(p.log_rules_every),
            )
            + seconds(p.group_interval)
            + scrape
        ),
        "budget_redeliver_s": float(RESEND_DELAY_S + 2 * scrape + seconds(p.group_wait)),
        "budget_logs_s": LOGS_AFTER_REPAIR_S,
    }


def resolve_cpu_s(runtime: str, busy_after: float) -> float:
    """The resolve budget of HostHighCpu when the machine stays `busy_after` busy (a share,
    0 to 1) once the hog is gone: the window's idle allowance, gathered at the idle share left,
    then scraped and evaluated. 40 s on an idle local machine, 130 s at three quarters busy."""
    p = profile(runtime)
    idle = 1 - min(max(busy_after, 0.0), BUSY_AFTER_CPU_HOG_MAX)
    allowance = seconds(p.cpu_window) * (1 - p.cpu_busy_ratio)
    return float(round(allowance / idle) + 2 * seconds(p.scrape_interval))
