"""Where each service's traffic goes.

A route is read from the database (the service, its ready replicas) and trusted for a
second, or until something says it changed (the ROUTES hint); so every server process
routes from the same records. Choice: a config by weight among those with a ready
replica, then its ready replica with the fewest requests in flight. What the gateway
counts of the calls is services/inference_traffic.py's.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.db.engine import Database
from openarts.db.tables import Service, ServiceReplica
from openarts.domain.addresses import resolved
from openarts.domain.services import ReplicaState

log = logging.getLogger("openarts.gateway.inference")

ROUTE_TTL_S = 1.0
# A replica that refused a connection is left out this long (its restart is under way).
SUSPECT_S = 1.0


@dataclass(frozen=True, slots=True)
class Pool:
    model_id: str
    weight: int
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Route:
    service_id: str
    project_id: str
    status: str
    pools: tuple[Pool, ...]
    expires: float


class InferenceRoutes:
    def __init__(self, db: Database, sockets: Path | None = None) -> None:
        self.db = db
        # Where sandboxed replicas' sockets are: their stored addresses are relative.
        self.sockets = sockets
        self._routes: dict[str, Route] = {}
        self.in_flight: dict[str, int] = defaultdict(int)
        self._suspects: dict[str, float] = {}

    def invalidate(self) -> None:
        self._routes.clear()

    async def route(self, service_id: str) -> Route | None:
        route = self._routes.get(service_id)
        now = time.monotonic()
        if route is not None and route.expires > now:
            return route
        route = await self.db.run_in_transaction(_load, service_id, now + ROUTE_TTL_S, self.sockets)
        if route is None:
            self._routes.pop(service_id, None)
        else:
            self._routes[service_id] = route
        return route

    def choose(self, route: Route, avoid: str = "") -> tuple[str, str] | None:
        """(model_id, address) for the next request, or None when nothing is ready."""
        now = time.monotonic()
        usable = []
        for pool in route.pools:
            addresses = [
                a for a in pool.addresses if a != avoid and self._suspects.get(a, 0.0) <= now
            ]
            if addresses and pool.weight > 0:
                usable.append((pool, addresses))
        if not usable:
            return None
        if len(usable) == 1:
            pool, addresses = usable[0]
        else:
            pool, addresses = random.choices(usable, weights=[p.weight for p, _ in usable])[0]
        # Fewest in flight; a random start breaks ties without always favouring the first.
        start = random.randrange(len(addresses))
        ordered = addresses[start:] + addresses[:start]
        return pool.model_id, min(ordered, key=lambda a: self.in_flight[a])

    def suspect(self, address: str) -> None:
        self._suspects[address] = time.monotonic() + SUSPECT_S
        self.invalidate()


def _load(session: Session, service_id: str, expires: float, sockets: Path | None) -> Route | None:
    service = session.get(Service, service_id)
    if service is None or service.desired == "delete":
        return None
    ready: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(ServiceReplica.model_id, ServiceReplica.address).where(
            ServiceReplica.service_id == service_id,
            ServiceReplica.state == ReplicaState.READY.value,
        )
    )
    for model_id, address in rows:
        if address:
            ready[model_id].append(resolved(address, sockets) if sockets else address)
    entries = json.loads(service.config)
    configured = {entry["model_id"] for entry in entries}
    # Replicas of a model swapped out by an update serve its share until the new model's
    # replicas answer (then they leave).
    leftovers = tuple(a for m, addresses in ready.items() if m not in configured for a in addresses)
    pools = tuple(
        Pool(
            entry["model_id"],
            int(entry["weight"]),
            tuple(ready.get(entry["model_id"], ())) or leftovers,
        )
        for entry in entries
    )
    return Route(service.id, service.project_id, service.status, pools, expires)
