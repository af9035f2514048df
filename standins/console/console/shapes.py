"""Error bodies in each product's own shape, so a client written for Grafana or Kibana reads
the console's errors as it reads theirs."""

from __future__ import annotations

from http import HTTPStatus
from typing import Literal

from starlette.responses import JSONResponse

Side = Literal["grafana", "kibana"]


def grafana_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def kibana_error(status: int, message: str) -> JSONResponse:
    body = {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message}
    return JSONResponse(body, status_code=status)


def error(side: Side, status: int, message: str) -> JSONResponse:
    return grafana_error(status, message) if side == "grafana" else kibana_error(status, message)
