"""The stack's service chassis: plumbing shared by auth, users and games. See README.md."""

from chassis.app import app_on_first_use, create_service_app, default_checks
from chassis.breaker import Breaker, CircuitOpenError
from chassis.consumer import PoisonMessage, consume, processed_events_columns
from chassis.db import Database, DatabaseDep, SessionDep
from chassis.faults import FaultFlags
from chassis.health import HealthCheck
from chassis.jwks import CurrentClaims, JwksVerifier
from chassis.messaging import Broker, BrokerUnavailable
from chassis.metrics import FEATURE_USAGE
from chassis.outbox import OutboxRelay, add_event, outbox_columns
from chassis.policy import read_policy
from chassis.settings import (
    AuthClientSettings,
    ServiceSettings,
    SettingsError,
    http_url,
    load_settings,
    read_secret,
)

__all__ = [
    "FEATURE_USAGE",
    "AuthClientSettings",
    "Breaker",
    "Broker",
    "BrokerUnavailable",
    "CircuitOpenError",
    "CurrentClaims",
    "Database",
    "DatabaseDep",
    "FaultFlags",
    "HealthCheck",
    "JwksVerifier",
    "OutboxRelay",
    "PoisonMessage",
    "ServiceSettings",
    "SessionDep",
    "SettingsError",
    "add_event",
    "app_on_first_use",
    "consume",
    "create_service_app",
    "default_checks",
    "http_url",
    "load_settings",
    "outbox_columns",
    "processed_events_columns",
    "read_policy",
    "read_secret",
]
