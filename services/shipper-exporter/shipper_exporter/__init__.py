"""The local log shipper's metrics: rsyslog's impstats lines, served as Prometheus metrics.

`python -m shipper_exporter`: the `shipper-exporter` component (docs/logging.md, Shipper
metrics).
impstats.py turns the lines into metric families; app.py tails the file and serves /metrics.
"""
