"""The inference gateway: ``/v1/infers/{service_id}/{path}`` on the platform's port, to a
ready replica of the service.

A plain ASGI wrapper in front of the API, like the notebook proxy, so a call costs no
routing or validation. The caller is authenticated as for the API (AK/SK signature or
X-Auth-Token) and must belong to the service's project; the body is read whole first,
since a signature covers it. The answer streams back as the replica writes it. A
connection that fails before any answer byte is tried once more on another replica (the
request did not reach a server that answered); a call that runs past the timeout gets
504. Calls and failures are counted for the monitor.

Transport failures of the gateway itself (no replica ready, a replica that cut the
answer off, a timeout) are answered 503 or 504 with the reference's gateway error code
ModelArts.4302, whose table status (500) does not tell a client to retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openarts import errors
from openarts.domain.services import INFER_PREFIX, ServiceStatus
from openarts.errors import OpenArtsError
from openarts.gateway.inference_routes import InferenceRoutes, Route
from openarts.gateway.relay import HOP_BY_HOP, pass_lifespan, refuse
from openarts.gateway.upstream import UpstreamError, UpstreamPool
from openarts.services.authentication import Authenticator
from openarts.services.inference_traffic import InferenceTraffic

log = logging.getLogger("openarts.gateway.inference")

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
SERVING = frozenset({ServiceStatus.RUNNING, ServiceStatus.CONCERNING, ServiceStatus.DEPLOYING})
# Request headers that concern the platform, not the model server.
# (Content-Length is the gateway's own: the body is sent whole.)
_NOT_FORWARDED = HOP_BY_HOP | {
    b"host",
    b"content-length",
    b"authorization",
    b"x-auth-token",
    b"x-sdk-date",
}


@dataclass(frozen=True, slots=True)
class GatewayParts:
    """What the gateway needs of the platform (the composition root gives it)."""

    routes: InferenceRoutes
    traffic: InferenceTraffic
    auth: Authenticator
    timeout_s: float
    max_body: int


class InferenceGateway:
    def __init__(self, app: ASGIApp, parts: GatewayParts) -> None:
        self.app = app
        self.parts = parts
        self.upstream = UpstreamPool()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(INFER_PREFIX):
            if scope["type"] == "lifespan":
                await pass_lifespan(self.app, scope, receive, send, self.close)
                return
            await self.app(scope, receive, send)
            return
        parts = self.parts
        # The path as sent (still percent-encoded): the model sees what the caller wrote.
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        service_id, _, rest = raw[len(INFER_PREFIX) :].partition("/")
        try:
            route, body = await self._admit(scope, receive, parts, service_id)
        except OpenArtsError as error:
            await refuse(scope, receive, send, error)
            return
        await self._forward(scope, send, parts, route, "/" + rest, body)

    async def _admit(
        self, scope: Scope, receive: Receive, parts: GatewayParts, service_id: str
    ) -> tuple[Route, bytes]:
        request = Request(scope, receive)
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > parts.max_body
        ):
            raise OpenArtsError(errors.BODY_TOO_LARGE)
        body = await request.body()
        if len(body) > parts.max_body:
            raise OpenArtsError(errors.BODY_TOO_LARGE)
        # Who calls first (the signature covers the body), then where: a caller who is not
        # authenticated learns nothing about which services exist.
        principal = await parts.auth.authenticate(request)
        route = await parts.routes.route(service_id) if service_id else None
        if route is None:
            raise OpenArtsError(errors.SERVICE_NOT_FOUND, f"Service {service_id} does not exist.")
        try:
            await parts.auth.in_project(principal, request, route.project_id)
        except OpenArtsError as error:
            if error.error_code == errors.PROJECT_FORBIDDEN:
                # The same answer for another project's service as for none.
                raise OpenArtsError(
                    errors.SERVICE_NOT_FOUND, f"Service {service_id} does not exist."
                ) from None
            raise
        if ServiceStatus(route.status) not in SERVING:
            raise OpenArtsError(
                errors.INFER_SERVICE_UNAVAILABLE,
                f"Invalid request because requested service {service_id} is unavailable: it "
                f"is {route.status}.",
            )
        return route, body

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        parts: GatewayParts,
        route: Route,
        path: str,
        body: bytes,
    ) -> None:
        routes = parts.routes
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _NOT_FORWARDED]
        started_at = time.perf_counter()

        def done(model_id: str, failed: bool) -> None:
            parts.traffic.record(
                route.service_id, model_id, failed, time.perf_counter() - started_at
            )

        avoid = ""
        for attempt in (1, 2):
            chosen = routes.choose(route, avoid)
            if chosen is None:
                done("", True)
                why = f"service {route.service_id} has no replica ready"
                await self._transport_error(scope, send, 503, why)
                return
            model_id, address = chosen
            routes.in_flight[address] += 1
            begun = False
            connection = None
            try:
                async with asyncio.timeout(parts.timeout_s):
                    answer, connection = await self.upstream.request(
                        address, scope["method"], target, headers, body
                    )
                    begun = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": answer.status,
                            "headers": [
                                (k.lower(), v)
                                for k, v in answer.headers
                                if k.lower() not in HOP_BY_HOP
                            ],
                        }
                    )
                    async for chunk in answer.body():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    await send({"type": "http.response.body", "body": b""})
                self.upstream.release(connection)
                connection = None
                done(model_id, answer.status >= 500)
                return
            except TimeoutError:
                done(model_id, True)
                if begun:
                    await send({"type": "http.response.body", "body": b""})
                else:
                    why = f"the model did not answer within {parts.timeout_s:g} s"
                    await self._transport_error(scope, send, 504, why)
                return
            except UpstreamError as error:
                if begun:
                    # Cut off mid-answer: end what began; the client sees a short body.
                    done(model_id, True)
                    await send({"type": "http.response.body", "body": b""})
                    return
                log.info("replica %s of service %s: %s", address, route.service_id, error)
                routes.suspect(address)
                avoid = address
                # Tried again only when the replica cannot have run it: no connection was
                # made, or the call is one that may run twice.
                if attempt == 2 or (error.sent and scope["method"] not in _IDEMPOTENT):
                    done(model_id, True)
                    why = f"no replica of service {route.service_id} answered"
                    await self._transport_error(scope, send, 503, why)
                    return
            finally:
                routes.in_flight[address] -= 1
                if connection is not None:
                    # Not handed back whole (a timeout, the caller gone): never reused.
                    connection.close()

    async def _transport_error(self, scope: Scope, send: Send, status: int, why: str) -> None:
        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        error = OpenArtsError(
            errors.INFER_GATEWAY_ERROR, f"Gateway forwarding error because {why}."
        )
        await refuse(scope, nothing, send, error, status=status)

    async def close(self) -> None:
        self.upstream.close()
