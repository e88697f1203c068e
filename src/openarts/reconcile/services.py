"""The service reconciler: keeps each service's replicas as its config asks.

Per pass, in one transaction per service: replicas are added or retired to match each
config entry's ``instance_count``; a replica whose process ended is marked down and
started again after a growing back-off; replicas of an older config generation leave
only once the new generation is ready (so an update never drops traffic); a stop or a
delete retires every replica; the status follows (deploying -> running, concerning when
replicas are missing, failed when a replica cannot start at all). Health checks of
starting replicas are the slow part and run beside the passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openarts.backends.base import ComputeBackend, TaskHandle, read_tail
from openarts.db.engine import Database
from openarts.db.tables import Model, Service, ServiceReplica, Workload, WorkloadTask
from openarts.db.tables import ServiceUpdate as UpdateRow
from openarts.domain.addresses import authority_of, resolved, socket_of
from openarts.domain.events import EventType
from openarts.domain.services import (
    DEFAULT_DEPLOY_TIMEOUT_S,
    DEPLOY_ATTEMPTS,
    ReplicaState,
    ServiceStatus,
    restart_delay_s,
)
from openarts.domain.workloads import WorkloadStatus
from openarts.ids import new_uuid, now_ms
from openarts.lazy import lazy_import
from openarts.reconcile.folders import subfolders
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.runtime.replica_runtime import (
    ModelFiles,
    health_path,
    pin_replica_socket,
    submit_replica,
)
from openarts.services import inference_services as service_ops
from openarts.services import workloads as workload_service
from openarts.services.inference_services import Entry, entries_of, switch_service_status
from openarts.unix_sockets import SocketPath

if TYPE_CHECKING:
    import aiohttp
else:
    aiohttp = lazy_import("aiohttp")

log = logging.getLogger("openarts.reconcile.services")

S = ServiceStatus
R = ReplicaState
PROBE_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 2.0
LOG_TAIL_BYTES = 1500


@dataclass(frozen=True, slots=True)
class Probe:
    replica_id: str
    address: str  # "host:port", or a sandboxed replica's socket ("unix:/path")
    path: str
    deadline: float  # monotonic


@dataclass
class PassResult:
    probes: list[Probe]
    changed: bool = False
    # Replicas that ended before they ever answered: their logs say why.
    failed_tasks: list[tuple[str, TaskHandle]] | None = None


class ServiceReconciler(SteppingReconciler):
    def __init__(
        self,
        db: Database,
        backend: ComputeBackend,
        models: ModelFiles,
        *,
        interval_s: float = 2.0,
        restart_base_s: float = 1.0,
        leadership: Leadership | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.backend = backend
        self.models = models
        super().__init__(interval_s=interval_s, leadership=leadership, log=log)
        self.restart_base_s = restart_base_s
        self.on_change = on_change or (lambda: None)
        self._timer: asyncio.TimerHandle | None = None
        self._http: aiohttp.ClientSession | None = None

    async def closed(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._http is not None:
            await self._http.close()

    async def run_once(self) -> None:
        now = now_ms()
        ids = await self.db.run_in_transaction(_live_services)
        changed = False
        next_restart: int | None = None
        for service_id in ids:
            try:
                result = await self.db.run_in_transaction(
                    _reconcile, service_id, now, self.models, self.restart_base_s
                )
            except Exception:
                # One service's trouble must not hold back every other one.
                log.exception("reconciling service %s failed; trying again", service_id)
                continue
            if result is None:
                continue
            changed = changed or result.changed
            for probe in result.probes:
                if probe.replica_id not in self._steps.busy:
                    self._steps.start(probe.replica_id, self._probe(probe))
            for replica_id, handle in result.failed_tasks or []:
                with contextlib.suppress(Exception):
                    chunk = await read_tail(self.backend, handle, LOG_TAIL_BYTES)
                    tail = chunk.data.decode("utf-8", "replace").strip()
                    if tail:
                        await self.db.run_in_transaction(_note_log, replica_id, tail)
        next_restart = await self.db.run_in_transaction(_next_restart, now)
        self._arm(next_restart)
        if changed:
            self.on_change()
            await self._forget_gone_replicas()

    async def _forget_gone_replicas(self) -> None:
        """Remove the socket folders of sandboxed replicas that are gone (after the
        transaction that removed them, never inside it)."""
        root = self.models.sockets
        names = await asyncio.to_thread(subfolders, root)
        if not names:
            return
        alive = await self.db.run_in_transaction(_existing_replicas, names)
        for name in sorted(set(names) - alive):
            await asyncio.to_thread(shutil.rmtree, root / name, True)

    def _arm(self, at_ms: int | None) -> None:
        """Wake at the next restart or schedule due, whichever is first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if at_ms is not None:
            delay = max(at_ms - now_ms(), 0) / 1000
            self._timer = asyncio.get_running_loop().call_later(delay, self.wake)

    async def _probe(self, probe: Probe) -> None:
        socket = socket_of(probe.address)
        if socket is not None:
            # A sandboxed replica: a session of the probe's own, over its socket.
            try:
                handle = SocketPath(socket)
            except OSError:
                return  # its folder is not there (yet): the next pass probes again
            try:
                async with aiohttp.ClientSession(
                    connector=aiohttp.UnixConnector(path=handle.path),
                    timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
                    auto_decompress=False,
                ) as session:
                    await self._poll_until_ready(session, probe)
            finally:
                handle.close()
            return
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S), auto_decompress=False
            )
        await self._poll_until_ready(self._http, probe)

    async def _poll_until_ready(self, session: aiohttp.ClientSession, probe: Probe) -> None:
        url = f"http://{authority_of(probe.address)}{probe.path}"
        socket = socket_of(probe.address)
        while time.monotonic() < probe.deadline:
            if socket is not None and not await asyncio.to_thread(pin_replica_socket, Path(socket)):
                # The replica has not made its socket yet.
                if not await self.db.run_in_transaction(_still_starting, probe.replica_id):
                    return
                await asyncio.sleep(PROBE_INTERVAL_S)
                continue
            try:
                async with session.get(url) as answer:
                    if answer.status == 200:
                        break
            except (aiohttp.ClientError, TimeoutError, OSError):
                pass
            if not await self.db.run_in_transaction(_still_starting, probe.replica_id):
                return
            await asyncio.sleep(PROBE_INTERVAL_S)
        else:
            await self.db.run_in_transaction(_probe_timed_out, probe.replica_id)
            return
        if await self.db.run_in_transaction(_mark_ready, probe.replica_id):
            self.on_change()


def _existing_replicas(session: Session, ids: list[str]) -> set[str]:
    return set(session.scalars(select(ServiceReplica.id).where(ServiceReplica.id.in_(ids))))


# -- one service, one transaction ----------------------------------------------------------
def _live_services(session: Session) -> list[str]:
    return list(session.scalars(select(Service.id).where(Service.status != S.STOPPED.value)))


def _reconcile(
    session: Session, service_id: str, now: int, models: ModelFiles, restart_base_s: float
) -> PassResult | None:
    service = session.get(Service, service_id)
    if service is None:
        return None
    replicas = list(
        session.scalars(select(ServiceReplica).where(ServiceReplica.service_id == service_id))
    )
    workloads = _workloads(session, [r.workload_id for r in replicas if r.workload_id])
    result = PassResult(probes=[], failed_tasks=[])
    result.changed = _follow_workloads(
        session, service, replicas, workloads, now, restart_base_s, result
    )
    if service.desired != "run" or S(service.status) in (S.STOPPING, S.DELETING, S.STOPPED):
        _wind_down(session, service, replicas, workloads)
        result.changed = True
        return result
    if service.due_time is not None and now >= service.due_time:
        service.desired = "stop"
        service.due_time = None
        switch_service_status(session, service, S.STOPPING, "stopped by its schedule")
        return result
    if S(service.status) is S.FAILED:
        return result
    entries = entries_of(service)
    models_by_id = {
        m.id: m
        for m in session.scalars(select(Model).where(Model.id.in_([e.model_id for e in entries])))
    }
    result.changed |= _match_counts(session, service, replicas, entries, models_by_id, models, now)
    ready = _current_ready(service, replicas, entries)
    if ready:
        for replica in replicas:
            if _outdated(service, replica, entries) and replica.state != R.RETIRING:
                _retire(session, replica, "replaced by the service's update")
                result.changed = True
    timeouts = {e.model_id: e.deploy_timeout_s for e in entries}
    for replica in replicas:
        if replica.state == R.STARTING and replica.address:
            model = models_by_id.get(replica.model_id)
            timeout = timeouts.get(replica.model_id, DEFAULT_DEPLOY_TIMEOUT_S)
            result.probes.append(
                Probe(
                    replica.id,
                    resolved(replica.address, models.sockets),
                    health_path(model) if model else "/health",
                    time.monotonic() + timeout,
                )
            )
    _set_status(session, service, replicas, entries, ready)
    return result


def _workloads(session: Session, ids: list[str]) -> dict[str, Workload]:
    if not ids:
        return {}
    return {w.id: w for w in session.scalars(select(Workload).where(Workload.id.in_(ids)))}


def _follow_workloads(
    session: Session,
    service: Service,
    replicas: list[ServiceReplica],
    workloads: dict[str, Workload],
    now: int,
    restart_base_s: float,
    result: PassResult,
) -> bool:
    """Replicas whose process ended: down (to restart later) or, if leaving, gone."""
    changed = False
    for replica in list(replicas):
        workload = workloads.get(replica.workload_id or "")
        ended = workload is None or _ended(workload)
        if replica.state == R.RETIRING and ended:
            session.delete(replica)
            replicas.remove(replica)
            changed = True
        elif replica.state in (R.STARTING, R.READY) and ended and workload is not None:
            never_answered = replica.state == R.STARTING
            replica.state = R.DOWN
            replica.restarts += 1
            replica.failures = replica.failures + 1 if never_answered else 0
            replica.restart_at = now + int(restart_delay_s(replica.restarts, restart_base_s) * 1000)
            # Ours first (a health check that timed out), else how its process ended.
            replica.reason = replica.reason or workload.reason
            service_ops.service_event(
                session,
                service,
                "ReplicaDown",
                f"replica {replica.id} of model {replica.model_id} ended ({replica.reason}); "
                f"it starts again in {(replica.restart_at - now) / 1000:.1f} s",
                EventType.WARNING,
            )
            handle = _handle_of(session, workload.id)
            if never_answered and handle is not None and result.failed_tasks is not None:
                result.failed_tasks.append((replica.id, handle))
            changed = True
    return changed


def _handle_of(session: Session, workload_id: str) -> TaskHandle | None:
    text = session.scalar(
        select(WorkloadTask.handle).where(
            WorkloadTask.workload_id == workload_id, WorkloadTask.handle.is_not(None)
        )
    )
    if text is None:
        return None
    try:
        return TaskHandle.from_json(str(text))
    except Exception:
        return None


def _wind_down(
    session: Session,
    service: Service,
    replicas: list[ServiceReplica],
    workloads: dict[str, Workload],
) -> None:
    """Stop or delete: every replica leaves; then the service is stopped (or gone)."""
    for replica in replicas:
        if replica.state != R.RETIRING:
            _retire(session, replica, "the service is stopping")
    live = [
        r for r in replicas if r.workload_id in workloads and not _ended(workloads[r.workload_id])
    ]
    if live:
        return
    if service.desired == "delete" or S(service.status) is S.DELETING:
        session.execute(delete(ServiceReplica).where(ServiceReplica.service_id == service.id))
        session.delete(service)
        return
    if S(service.status) is S.STOPPED:
        return
    if S(service.status) is not S.STOPPING:
        switch_service_status(session, service, S.STOPPING, "stopping")
    switch_service_status(session, service, S.STOPPED, "every replica has stopped")


def _ended(workload: Workload) -> bool:
    return WorkloadStatus(workload.status).finished


def _retire(session: Session, replica: ServiceReplica, reason: str) -> None:
    replica.state = R.RETIRING
    replica.reason = reason
    if replica.workload_id:
        workload_service.request_stop_sync(session, replica.workload_id)


def _outdated(service: Service, replica: ServiceReplica, entries: list[Entry]) -> bool:
    return replica.generation != service.generation or replica.model_id not in {
        e.model_id for e in entries
    }


def _match_counts(
    session: Session,
    service: Service,
    replicas: list[ServiceReplica],
    entries: list[Entry],
    models_by_id: dict[str, Model],
    models: ModelFiles,
    now: int,
) -> bool:
    changed = False
    for entry in entries:
        model = models_by_id.get(entry.model_id)
        if model is None:
            # Deleted while the service was deployed (the two checks raced).
            _fail(session, service, f"model {entry.model_id} no longer exists")
            return True
        mine = [
            r
            for r in replicas
            if r.model_id == entry.model_id
            and r.generation == service.generation
            and r.state != R.RETIRING
        ]
        for _ in range(entry.instance_count - len(mine)):
            replica = ServiceReplica(
                id=new_uuid(),
                service_id=service.id,
                model_id=entry.model_id,
                generation=service.generation,
                state=R.STARTING.value,
                restarts=0,
                failures=0,
                restart_at=0,
                reason="",
                created_at=now,
            )
            session.add(replica)
            submit_replica(session, models, service, replica, entry, model)
            replicas.append(replica)
            changed = True
        # Scaled in: the ones not serving yet leave first.
        extra = len(mine) - entry.instance_count
        for replica in sorted(mine, key=lambda r: (r.state == R.READY, r.created_at))[:extra]:
            _retire(session, replica, "scaled in")
            changed = True
        for replica in mine:
            if replica.state == R.DOWN and now >= replica.restart_at:
                if replica.failures >= DEPLOY_ATTEMPTS:
                    why = (
                        f"replica of model {replica.model_id} failed {replica.failures} times "
                        f"before it answered its health check: {replica.reason}"
                    )
                    _fail(session, service, why)
                    return True
                replica.state = R.STARTING
                submit_replica(session, models, service, replica, entry, model)
                service_ops.service_event(
                    session, service, "ReplicaRestarting", f"replica {replica.id} is starting again"
                )
                changed = True
    return changed


def _fail(session: Session, service: Service, why: str) -> None:
    """The service cannot be deployed as asked: failed, its replicas retired (they would
    hold their pool's capacity for nothing), the update marked FAIL."""
    for replica in session.scalars(
        select(ServiceReplica).where(ServiceReplica.service_id == service.id)
    ):
        if replica.state != R.RETIRING:
            _retire(session, replica, "the service failed")
    switch_service_status(session, service, S.FAILED, why, event_type=EventType.WARNING)
    for row in session.scalars(
        select(UpdateRow).where(
            UpdateRow.service_id == service.id,
            UpdateRow.generation == service.generation,
            UpdateRow.result == "RUNNING",
        )
    ):
        row.result = "FAIL"
        row.detail = why


def _current_ready(service: Service, replicas: list[ServiceReplica], entries: list[Entry]) -> bool:
    for entry in entries:
        ready = [
            r
            for r in replicas
            if r.model_id == entry.model_id
            and r.generation == service.generation
            and r.state == R.READY
        ]
        if len(ready) < entry.instance_count:
            return False
    return True


def _set_status(
    session: Session,
    service: Service,
    replicas: list[ServiceReplica],
    entries: list[Entry],
    ready: bool,
) -> None:
    status = S(service.status)
    wanted = sum(e.instance_count for e in entries)
    serving = sum(1 for r in replicas if r.state == R.READY)
    if ready:
        if status is not S.RUNNING:
            switch_service_status(session, service, S.RUNNING, f"{serving} replica(s) ready")
        for row in session.scalars(
            select(UpdateRow).where(
                UpdateRow.service_id == service.id,
                UpdateRow.generation == service.generation,
                UpdateRow.result == "RUNNING",
            )
        ):
            row.result = "SUCCESS"
    elif status is S.RUNNING:
        switch_service_status(
            session,
            service,
            S.CONCERNING,
            f"{serving} of {wanted} replica(s) ready",
            event_type=EventType.WARNING,
        )


def _next_restart(session: Session, now: int) -> int | None:
    # Only restarts still to come: a down replica left behind (its service failed, or a
    # newer generation replaces it) must not wake the loop over and over.
    first_restart = session.scalar(
        select(ServiceReplica.restart_at)
        .where(ServiceReplica.state == R.DOWN.value, ServiceReplica.restart_at > now)
        .order_by(ServiceReplica.restart_at)
        .limit(1)
    )
    first_due = session.scalar(
        select(Service.due_time)
        .where(Service.due_time.is_not(None), Service.desired == "run")
        .order_by(Service.due_time)
        .limit(1)
    )
    times = [t for t in (first_restart, first_due) if t is not None]
    return min(times) if times else None


def _note_log(session: Session, replica_id: str, tail: str) -> None:
    replica = session.get(ServiceReplica, replica_id)
    if replica is not None:
        replica.reason = f"{replica.reason}; its log ends with: {tail}"


def _still_starting(session: Session, replica_id: str) -> bool:
    replica = session.get(ServiceReplica, replica_id)
    return replica is not None and replica.state == R.STARTING


def _probe_timed_out(session: Session, replica_id: str) -> None:
    replica = session.get(ServiceReplica, replica_id)
    if replica is not None and replica.state == R.STARTING and replica.workload_id:
        replica.reason = "it did not answer its health check in time"
        workload_service.request_stop_sync(session, replica.workload_id)


def _mark_ready(session: Session, replica_id: str) -> bool:
    replica = session.get(ServiceReplica, replica_id)
    if replica is None or replica.state != R.STARTING:
        return False
    replica.state = R.READY
    replica.ready_at = now_ms()
    replica.failures = 0
    replica.reason = ""
    service = session.get(Service, replica.service_id)
    if service is not None:
        service_ops.service_event(
            session, service, "ReplicaReady", f"replica {replica.id} is ready for traffic"
        )
    return True
