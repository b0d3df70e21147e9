"""Who may read the operator's endpoints, `/healthz` and `/metrics` (issue 22; R22), and
the two routes themselves (`install_probe_routes`).

SPEC.md fixes both routes; what they answer to whom is the operator's choice. They carry
no store, user or e-mail, but they do tell an outsider how busy the service is and what
fails, so an operator can close them with either or both of:

- `S5SYNC_METRICS_ALLOW`: networks (CIDR) whose clients are answered — the monitoring
  network, the platform's probe addresses;
- `S5SYNC_METRICS_TOKEN`: a bearer token (`Authorization: Bearer …`) that opens them from
  anywhere — what a Prometheus scrape job or a probe with headers sends.

With neither set anyone is answered (the demo, compatible with earlier releases). A
refused request gets 401 with `WWW-Authenticate: Bearer` when a token would open it,
else 403; the answer says nothing more. The client address is the one uvicorn reports,
which follows `X-Forwarded-For` only from the proxies in `FORWARDED_ALLOW_IPS`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from s5sync.entrypoints.web.metrics import CONTENT_TYPE
from s5sync.settings import Settings

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class ProbeAccess:
    """The allow-list and the token of the operator's endpoints."""

    networks: tuple[Network, ...] = ()
    token: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ProbeAccess:
        return cls(tuple(settings.metrics_networks()), settings.metrics_token.get_secret_value())

    @property
    def open(self) -> bool:
        return not self.networks and not self.token

    def allows(self, client: str | None, authorization: str | None) -> bool:
        if self.open:
            return True
        if self.token and authorization is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), self.token.encode()
            ):
                return True
        if client is None or not self.networks:
            return False
        try:
            address = ip_address(client)
        except ValueError:  # e.g. a test client's name
            return False
        return any(address in network for network in self.networks)

    def refusal(self, request: Request) -> Response | None:
        """None when `request` may be answered, else the refusal to send."""
        client = request.client.host if request.client is not None else None
        if self.allows(client, request.headers.get("authorization")):
            return None
        if self.token:
            return PlainTextResponse(
                "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return PlainTextResponse("Forbidden", status_code=403)


def install_probe_routes(
    app: FastAPI,
    access: ProbeAccess,
    report_health: Callable[[], Awaitable[dict[str, Any]]] | None,
    read_metrics: Callable[[], Awaitable[bytes]] | None,
) -> None:
    """`/healthz` and `/metrics`, answered only to whom `access` allows."""

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        refused = access.refusal(request)
        if refused is not None:
            return refused
        report = await report_health() if report_health is not None else {"ok": True}
        status_code = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status_code)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        # Operator-facing, like /healthz: no store, user or e-mail is ever a label (R22).
        refused = access.refusal(request)
        if refused is not None:
            return refused
        if read_metrics is None:
            raise HTTPException(status_code=404, detail="No metrics here.")
        return Response(await read_metrics(), media_type=CONTENT_TYPE)
