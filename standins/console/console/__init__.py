"""console: the local runtime's stand-in for Grafana and Kibana (README.md)."""

__version__ = "0.1.0"
