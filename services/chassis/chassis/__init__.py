"""The stack's service chassis: plumbing shared by auth, users and games. See README.md."""

from chassis.app import create_service_app, default_checks
from chassis.breaker import Breaker, CircuitOpenError
from chassis.consumer import PoisonMessage, consume, processed_events_columns
from chassis.db import Database, SessionDep
from chassis.faults import FaultFlags
from chassis.health import HealthCheck
from chassis.jwks import CurrentClaims, JwksVerifier
from chassis.messaging import Broker, BrokerUnavailable
from chassis.metrics import FEATURE_USAGE
from chassis.outbox import OutboxRelay, add_event, outbox_columns
from chassis.settings import ConfigError, ServiceSettings, load_settings, read_secret

__all__ = [
    "FEATURE_USAGE",
    "Breaker",
    "Broker",
    "BrokerUnavailable",
    "CircuitOpenError",
    "ConfigError",
    "CurrentClaims",
    "Database",
    "FaultFlags",
    "HealthCheck",
    "JwksVerifier",
    "OutboxRelay",
    "PoisonMessage",
    "ServiceSettings",
    "SessionDep",
    "add_event",
    "consume",
    "create_service_app",
    "default_checks",
    "load_settings",
    "outbox_columns",
    "processed_events_columns",
    "read_secret",
]
