"""The Ray backend: the platform's tasks run on the nodes of a Ray cluster.

The server stays the control plane: its database, queue and admission decide what starts
and on which node; Ray only places and runs it. Each task is a detached, named actor
(``runner.TaskRunner``, one namespace per workload) pinned to the node admission chose,
so tasks outlive the server and a restarted server finds them again by name. A gang of
several tasks is one placement group, one bundle per node, STRICT_SPREAD, created only
once admission has said it fits (Ray cannot tell queued from impossible, nor cancel a
pending group). A one-task workload is pinned to its node by hard node affinity, which is
what a one-bundle group would do, without the group's round trip.

Tasks' folders, logs and environments live in the platform's home, which every node must
mount at the same path: the runner writes the log and exit status there, the server reads
them from there, so ``read_logs`` and the verdict on a task whose actor is gone work for
every node. Nodes are named by their address; a dedicated pool takes a node whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import platform
import secrets
import signal
import socket
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from openarts.backends.base import (
    BackendError,
    ComputeBackend,
    LogChunk,
    NodeInfo,
    ResourceSample,
    TaskHandle,
    TaskObservation,
    TaskSpec,
    TaskState,
)
from openarts.backends.local.backend import (
    mark_stopped,
    read_log,
    recorded_ending,
    start_ticks,
)
from openarts.backends.ray import runner
from openarts.backends.ray.runner import RunnerTaken
from openarts.backends.sandbox import Sandbox, machine_id
from openarts.hostinfo import normalize_arch

log = logging.getLogger(__name__)

NAME = "ray"
# How long Ray may take to place a gang or start a runner before the start counts as failed.
START_TIMEOUT_S = 60.0
# A call to a runner that takes longer is answered "still running" (its node may be
# going away; the node table settles that).
CALL_TIMEOUT_S = 10.0
# A node table read this recently is what a poll judges by.
NODE_TABLE_FRESH_S = 1.0
# A runner that Ray says is gone, on a node it still lists, counts as lost only after this
# (the node's death may not have reached the node table yet).
LOST_GRACE_S = 30.0
# How long a stopped task's network waits for the last processes in it (a gang member
# lost with its node is killed by its guard meanwhile): a stopped task is not polled again.
STOPPED_WAIT_S = 2.0
# How often, at most, the networks of ended runners are looked for (when tasks end).
ORPHAN_SWEEP_S = 10.0
# A sliver of the node's own resource pins a bundle to that node.
NODE_RESOURCE_SHARE = 0.001

T = TypeVar("T")


class RayBackend(ComputeBackend):
    name = NAME
    spreads_gangs = True

    def __init__(
        self,
        root: Path,
        address: str,
        *,
        node_ip: str | None = None,
        auth_token_file: Path | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        spare_runners: int = 1,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.root = root
        # Made on this machine (its builds); each runner makes the same one on its node.
        self.sandbox = sandbox
        self._sandbox_config = sandbox.config(machine_id()) if sandbox is not None else None
        if sandbox is not None:
            self.sandbox_report = sandbox.report
        self._orphans_swept_at = float("-inf")
        self.address = address
        # The Ray node on this machine the server joins the cluster through.
        self.node_ip = node_ip or address.rsplit(":", 1)[0]
        self.auth_token_file = auth_token_file
        self.start_timeout_s = start_timeout_s
        # Two platforms may share a cluster: their namespaces must not meet.
        self.tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        self._actors: dict[str, Any] = {}
        self._node_ids: dict[str, str] = {}  # address -> Ray node id, of live nodes
        self._dead: set[str] = set()  # addresses of nodes the cluster reports dead
        self._nodes_read_at = float("-inf")
        self._missing: dict[str, float] = {}  # task -> when its runner was first gone
        self._local_data: dict[str, dict[str, Any]] = {}  # task -> its runner's start data
        # This server process's spares live in a namespace of their own, so that another
        # server process on the same home never takes or ends them.
        self._instance = secrets.token_hex(4)
        self._refilling: asyncio.Task[None] | None = None
        self._ray: Any = None
        self.spare_runners = spare_runners
        self._spares: dict[str, list[tuple[Any, str]]] = {}  # node -> ready runners
        self._capacity: dict[str, float] = {}  # node -> vCPUs, of live nodes
        self._spares_ready = False  # none are made before old ones are swept

    # -- connection ----------------------------------------------------------------------
    async def connect(self) -> None:
        # Ray's core installs crash handlers for SIGTERM and SIGINT that end the process
        # with the signal after whatever ran before: the server's own graceful handlers
        # are put back (here, on the main thread, where handlers are set).
        saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            await asyncio.to_thread(self._connect)
        finally:
            if threading.current_thread() is threading.main_thread():
                for number, handler in saved.items():
                    if handler is not None:
                        signal.signal(number, handler)
        await self.nodes()
        await self._sweep_spares()
        self._spares_ready = True
        self._refill_soon()

    def _connect(self) -> None:
        if self.auth_token_file is not None:
            if not self.auth_token_file.is_file():
                raise BackendError(f"the Ray token file {self.auth_token_file} does not exist")
            # Ray reads its token settings from the environment when it is first imported;
            # the token itself stays in its private file, out of every process listing.
            os.environ["RAY_AUTH_MODE"] = "token"
            os.environ["RAY_AUTH_TOKEN_PATH"] = str(self.auth_token_file)
        try:
            import ray
        except ImportError:
            raise BackendError("the Ray backend needs Ray: pip install 'openarts[ray]'") from None
        self._ray = ray
        if ray.is_initialized():
            return
        host, _, port = self.address.rpartition(":")
        try:
            # Ray itself would retry for minutes before saying anything.
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError) as error:
            raise BackendError(
                f"the Ray cluster's address {self.address} does not answer: {error}"
            ) from None
        try:
            ray.init(
                address=self.address,
                namespace=self._driver_namespace,
                _node_ip_address=self.node_ip,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except Exception as error:
            raise BackendError(
                f"could not join the Ray cluster at {self.address} through the node at "
                f"{self.node_ip} on this machine (set OPENARTS_RAY_NODE_IP to the address of "
                f"this machine's Ray node): {error}"
            ) from error

    async def close(self) -> None:
        if self._ray is not None and self._ray.is_initialized():
            await self._end_spares()
            await asyncio.to_thread(self._ray.shutdown)
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.close)
            await asyncio.to_thread(self.sandbox.remove_orphan_networks)

    @property
    def _driver_namespace(self) -> str:
        return f"openarts-{self.tag}"

    def _namespace(self, task_id: str) -> str:
        workload_id = task_id.rsplit("-", 1)[0]
        return f"openarts-{self.tag}-{workload_id}"

    # -- nodes ---------------------------------------------------------------------------
    async def nodes(self) -> list[NodeInfo]:
        records = await asyncio.to_thread(self._ray.nodes)
        alive: dict[str, str] = {}
        infos = []
        dead = set()
        for record in records:
            address = str(record["NodeManagerAddress"])
            if not record.get("Alive"):
                dead.add(address)
                continue
            if address in alive:
                log.warning("two live Ray nodes share the address %s; using the first", address)
                continue
            alive[address] = str(record["NodeID"])
            resources = record.get("Resources") or {}
            gpus = int(resources.get("GPU", 0))
            infos.append(
                NodeInfo(
                    name=address,
                    vcpus=float(resources.get("CPU", 0.0)),
                    memory_bytes=int(resources.get("memory", 0)),
                    gpus=gpus,
                    arch=normalize_arch(platform.machine()),
                    labels={str(k): str(v) for k, v in (record.get("Labels") or {}).items()},
                    gpu_ids=tuple(range(gpus)),
                    whole=True,
                )
            )
        if self._node_ids or alive:
            for address in sorted(set(alive) - set(self._node_ids)):
                log.info("Ray node %s joined (or is seen for the first time)", address)
            for address in sorted(set(self._node_ids) - set(alive)):
                log.warning("Ray node %s left the cluster", address)
        self._node_ids = alive
        self._nodes_read_at = time.monotonic()
        self._dead = dead - set(alive)  # a node that came back under its address is alive
        self._capacity = {info.name: info.vcpus for info in infos}
        for gone in set(self._spares) - set(alive):
            del self._spares[gone]
        if self._spares_ready:
            self._refill_soon()  # a node that joined gets its spare too
        return infos

    def address_of(self, node: str) -> str:
        return node  # nodes are named by their address

    async def free_port(self, node: str) -> int:
        port = await asyncio.to_thread(runner.port_here, node)
        if port is not None:
            return port  # the node's address is this machine's: asked here, at once
        for actor, _ in self._spares.get(node, []):
            with contextlib.suppress(Exception):
                return int(await asyncio.wait_for(actor.port.remote(node), CALL_TIMEOUT_S))
        probe = self._ray.remote(runner.port_on).options(
            num_cpus=0, scheduling_strategy=self._on_node(node)
        )
        return int(await self._within(probe.remote(node), f"finding a free port on {node}"))

    def _on_node(self, node: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node_id = self._node_ids.get(node)
        if node_id is None:
            raise BackendError(f"node {node} is not in the Ray cluster (any more)")
        return NodeAffinitySchedulingStrategy(node_id, soft=False)

    # -- start ---------------------------------------------------------------------------
    async def start(self, spec: TaskSpec) -> TaskHandle:
        return (await self.start_group([spec]))[0]

    async def start_group(self, specs: list[TaskSpec]) -> list[TaskHandle]:
        if not specs:
            return []
        namespace = self._namespace(specs[0].task_id)
        group, group_name = None, ""
        started: list[tuple[Any, str, str] | BaseException] = []
        try:
            if len(specs) > 1:
                group_name = namespace
                group = await self._place_gang(specs, group_name)
            started = await self._within(
                asyncio.gather(
                    *(
                        self._start_one(spec, namespace, group, index)
                        for index, spec in enumerate(specs)
                    ),
                    return_exceptions=True,
                ),
                f"starting {len(specs)} task(s) on {', '.join(s.node for s in specs)}",
            )
            failure = next((r for r in started if isinstance(r, BaseException)), None)
            if failure is not None:
                raise failure
        except BaseException as error:
            for result in started:
                if not isinstance(result, BaseException):
                    await self._kill(result[0])
            if group is not None:
                await asyncio.to_thread(self._ray.util.remove_placement_group, group)
            raise _backend_error(error) from None
        finally:
            self._refill_soon()
        runners = [r for r in started if not isinstance(r, BaseException)]
        members = [[name, space] for _, name, space in runners]
        for spec, (actor, _, _) in zip(specs, runners, strict=True):
            self._actors[spec.task_id] = actor
        return [
            TaskHandle(
                NAME,
                spec.task_id,
                {
                    "actor": name,
                    "namespace": space,
                    "node": spec.node,
                    "node_id": self._node_ids.get(spec.node, ""),
                    "run_dir": str(self.root / spec.task_id),
                    "group": group_name,
                    "members": members if group_name else [],
                    "local": self._local_data.pop(spec.task_id, {}),
                },
            )
            for spec, (_, name, space) in zip(specs, runners, strict=True)
        ]

    async def _start_one(
        self, spec: TaskSpec, namespace: str, group: Any, index: int
    ) -> tuple[Any, str, str]:
        """Start one task, on its node's spare runner when there is one; (runner, its
        name, its namespace)."""
        spare = self._take_spare(spec.node)
        if spare is not None:
            actor, name = spare
            try:
                self._local_data[spec.task_id] = await actor.run.remote(spec)
                return actor, name, self._spare_namespace
            except asyncio.CancelledError:
                await self._kill(actor)  # the start timed out: it may have begun the task
                raise
            except Exception as error:
                if not (
                    isinstance(getattr(error, "cause", None), RunnerTaken) or _actor_dead(error)
                ):
                    await self._kill(actor)  # it failed the task: it was the task's runner
                    raise
                # Taken by another server, or dead: a runner of the task's own instead.
        actor = await asyncio.to_thread(self._make_runner, spec, namespace, group, index)
        try:
            self._local_data[spec.task_id] = await actor.started.remote()
        except BaseException:
            await self._kill(actor)
            raise
        return actor, spec.task_id, namespace

    # -- spare runners -------------------------------------------------------------------
    @property
    def _spare_prefix(self) -> str:
        return f"openarts-{self.tag}-spare-"

    @property
    def _spare_namespace(self) -> str:
        return self._spare_prefix + self._instance

    def _take_spare(self, node: str) -> tuple[Any, str] | None:
        spares = self._spares.get(node)
        return spares.pop(0) if spares else None

    def _refill_soon(self) -> None:
        """Make the missing spare runners, in the background: a new Ray worker takes a
        second or more to start, so each node keeps one waiting and a task starts in one
        call."""
        if not self.spare_runners or (self._refilling and not self._refilling.done()):
            return
        self._refilling = asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        for node, capacity in list(self._capacity.items()):
            have = self._spares.setdefault(node, [])
            while capacity > 0 and len(have) < self.spare_runners and node in self._capacity:
                name = f"spare-{secrets.token_hex(6)}"
                try:
                    actor = await asyncio.to_thread(self._make_spare, name, node)
                except Exception as error:
                    log.warning("could not make a spare runner on %s: %s", node, error)
                    break
                have.append((actor, name))

    def _make_spare(self, name: str, node: str) -> Any:
        return self._runner_options(name, self._spare_namespace, self._on_node(node)).remote(
            str(self.root), None, node, _owner(), self._sandbox_config
        )

    async def _sweep_spares(self) -> None:
        """End the idle spares that server processes of this home left when they died
        (those of a live one, or on another machine, are left alone)."""
        listed = await asyncio.to_thread(self._ray.util.list_named_actors, all_namespaces=True)
        for entry in listed:
            namespace = str(entry.get("namespace", ""))
            if not namespace.startswith(self._spare_prefix) or namespace == self._spare_namespace:
                continue
            try:
                actor = await asyncio.to_thread(self._ray.get_actor, entry["name"], namespace)
                state = await asyncio.wait_for(actor.spare.remote(), CALL_TIMEOUT_S)
            except Exception:
                continue  # gone meanwhile, or not answering
            if state is not None and _owner_gone(state[2]):
                await self._end_spare(actor)

    async def _end_spares(self) -> None:
        if self._refilling is not None:
            self._refilling.cancel()
        for spares in self._spares.values():
            for actor, _ in spares:
                await self._end_spare(actor)
        self._spares.clear()

    async def _end_spare(self, actor: Any) -> None:
        """End a spare runner, which first removes the network it made ahead."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(actor.close.remote(), CALL_TIMEOUT_S)
        await self._kill(actor)

    async def _place_gang(self, specs: list[TaskSpec], name: str) -> Any:
        from ray.util.placement_group import placement_group

        for spec in specs:
            self._on_node(spec.node)  # each node must still be there
        bundles = [{f"node:{spec.node}": NODE_RESOURCE_SHARE} for spec in specs]
        group = await asyncio.to_thread(
            placement_group, bundles, strategy="STRICT_SPREAD", name=name, lifetime="detached"
        )
        try:
            await self._within(group.ready(), f"placing the gang on {len(specs)} nodes")
        except BaseException:
            await asyncio.to_thread(self._ray.util.remove_placement_group, group)
            raise
        return group

    def _make_runner(self, spec: TaskSpec, namespace: str, group: Any, index: int) -> Any:
        if group is not None:
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

            strategy: Any = PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=index
            )
        else:
            strategy = self._on_node(spec.node)
        return self._runner_options(spec.task_id, namespace, strategy).remote(
            str(self.root), spec, spec.node, "", self._sandbox_config
        )

    def _runner_options(self, name: str, namespace: str, strategy: Any) -> Any:
        return self._ray.remote(runner.TaskRunner).options(
            name=name,
            namespace=namespace,
            lifetime="detached",
            # The platform did the accounting; the runner itself holds nothing in Ray's
            # books, so Ray never keeps it pending behind its own view of the node.
            num_cpus=0,
            max_restarts=0,
            # A poll is answered while a stop waits out its grace period.
            max_concurrency=4,
            scheduling_strategy=strategy,
        )

    async def _within(self, work: Awaitable[T], what: str) -> T:
        try:
            return await asyncio.wait_for(work, self.start_timeout_s)
        except TimeoutError:
            raise BackendError(
                f"Ray did not finish {what} within {self.start_timeout_s:g} s (is a node "
                "gone, or is the cluster busy with work the platform does not know of?)"
            ) from None

    # -- observe -------------------------------------------------------------------------
    async def poll(self, handles: list[TaskHandle]) -> dict[str, TaskObservation]:
        # Which nodes are gone decides the verdicts below; the reconciler has usually
        # just read the table (Hosts.refresh), so it is read again only when older.
        if handles and time.monotonic() - self._nodes_read_at > NODE_TABLE_FRESH_S:
            await self.nodes()
        results = await asyncio.gather(*(self._poll_one(h) for h in handles))
        return {h.task_id: result for h, result in zip(handles, results, strict=True)}

    async def _poll_one(self, handle: TaskHandle) -> TaskObservation:
        try:
            observed = await self._observe(handle)
        except Exception:
            # One runner's trouble must not hide every other task's ending.
            log.exception("polling task %s failed; trying again next pass", handle.task_id)
            return TaskObservation(TaskState.RUNNING)
        if observed.state.finished:
            self._missing.pop(handle.task_id, None)
            await self._release(handle)
            await self._release_network(handle)
        return observed

    async def _release_network(self, handle: TaskHandle, wait_s: float = 0.0) -> None:
        """A sandboxed task's network, once no process is in it (a gang's, with its last
        member): its runner may have been ended before it could remove it. Sandboxed
        tasks run on this machine only, so it is this machine's network."""
        if self.sandbox is None:
            return
        local = handle.data.get("local") or {}
        network = str(local.get("network", "")) if isinstance(local, dict) else ""
        if network:
            await asyncio.to_thread(self.sandbox.release_network, network, wait_s)
        # Runners are ended with SIGKILL: one may leave the network it made ahead.
        if time.monotonic() - self._orphans_swept_at > ORPHAN_SWEEP_S:
            self._orphans_swept_at = time.monotonic()
            await asyncio.to_thread(self.sandbox.remove_orphan_networks)

    async def _observe(self, handle: TaskHandle) -> TaskObservation:
        actor = await self._find(handle)
        if actor is not None:
            try:
                observed: TaskObservation = await asyncio.wait_for(
                    actor.poll.remote(), CALL_TIMEOUT_S
                )
            except TimeoutError:
                return self._without_runner(handle, still_there=True)
            except Exception as error:
                if _actor_unreachable(error):
                    return self._without_runner(handle, still_there=True)  # for now
                if not _actor_dead(error):
                    raise
                self._actors.pop(handle.task_id, None)
            else:
                return observed
        return self._without_runner(handle, still_there=False)

    def _without_runner(self, handle: TaskHandle, *, still_there: bool) -> TaskObservation:
        """The verdict from the task's folder and the node table, when its runner cannot
        say (gone, or not answering)."""
        recorded = recorded_ending(Path(handle.data["run_dir"]))
        if recorded is not None:
            return recorded
        node = str(handle.data["node"])
        live_id = self._node_ids.get(node)
        if live_id is None or node in self._dead:
            return TaskObservation(
                TaskState.FAILED, None, f"node {node} left the Ray cluster while the task ran on it"
            )
        if handle.data.get("node_id") and live_id != handle.data["node_id"]:
            return TaskObservation(
                TaskState.FAILED,
                None,
                f"node {node} left the Ray cluster while the task ran on it (a new node has "
                "joined at its address since)",
            )
        if still_there:
            return TaskObservation(TaskState.RUNNING)
        # Ray may say an actor died a little before it says its node did: the node table
        # gets a while to tell which it was.
        first = self._missing.setdefault(handle.task_id, time.monotonic())
        if time.monotonic() - first < LOST_GRACE_S:
            return TaskObservation(TaskState.RUNNING)
        return TaskObservation(
            TaskState.LOST,
            None,
            f"its runner on node {node} ended without recording an exit status",
        )

    async def _find(self, handle: TaskHandle) -> Any | None:
        actor = self._actors.get(handle.task_id)
        if actor is not None:
            return actor
        try:
            actor = await asyncio.to_thread(
                self._ray.get_actor, handle.data["actor"], handle.data["namespace"]
            )
        except ValueError:
            return None  # no such live actor
        self._actors[handle.task_id] = actor
        return actor

    async def sample(self, handles: list[TaskHandle]) -> dict[str, ResourceSample]:
        async def one(handle: TaskHandle) -> ResourceSample | None:
            actor = await self._find(handle)
            if actor is None:
                return None
            try:
                result: ResourceSample | None = await asyncio.wait_for(
                    actor.sample.remote(), CALL_TIMEOUT_S
                )
            except Exception:
                return None  # a sample is skipped, never a reason to fail
            return result

        results = await asyncio.gather(*(one(h) for h in handles))
        return {h.task_id: r for h, r in zip(handles, results, strict=True) if r is not None}

    async def read_logs(self, handle: TaskHandle, *, offset: int, limit: int) -> LogChunk:
        return await asyncio.to_thread(read_log, Path(handle.data["run_dir"]), offset, limit)

    # -- stop ----------------------------------------------------------------------------
    async def stop(self, handle: TaskHandle, *, grace_s: float) -> None:
        actor = await self._find(handle)
        if actor is None:
            # Its node is gone, or it ended: the folder says it was asked to stop.
            await asyncio.to_thread(mark_stopped, Path(handle.data["run_dir"]))
            await self._release(handle)
            await self._release_network(handle, wait_s=STOPPED_WAIT_S)
            return
        try:
            await asyncio.wait_for(actor.stop.remote(grace_s), grace_s + CALL_TIMEOUT_S)
            stopped_there = True  # its runner's stop removed its network (LocalBackend.stop)
        except TimeoutError:
            log.warning("task %s did not confirm its stop; ending its runner", handle.task_id)
            stopped_there = False
        except Exception as error:
            if not _actor_dead(error):
                raise
            await asyncio.to_thread(mark_stopped, Path(handle.data["run_dir"]))
            stopped_there = False
        await self._release(handle)
        if not stopped_there:
            await self._release_network(handle, wait_s=STOPPED_WAIT_S)

    async def discard(self, task_id: str, *, grace_s: float = 0.0) -> None:
        actor = await self._runner_of(task_id)
        if actor is None:
            return
        try:
            await asyncio.wait_for(actor.stop.remote(grace_s), grace_s + CALL_TIMEOUT_S)
        except Exception:
            log.warning("discarding task %s: its runner did not answer", task_id)
        await self._kill(actor)
        # A gang whose handles were never recorded may have left its placement group.
        await asyncio.to_thread(self._remove_group, self._namespace(task_id))

    async def _runner_of(self, task_id: str) -> Any | None:
        """The runner of a task whose handle was never recorded: made for it by name, or
        a spare that took it."""
        try:
            return await asyncio.to_thread(self._ray.get_actor, task_id, self._namespace(task_id))
        except ValueError:
            pass
        listed = await asyncio.to_thread(self._ray.util.list_named_actors, all_namespaces=True)
        for entry in listed:
            namespace = str(entry.get("namespace", ""))
            if not namespace.startswith(self._spare_prefix):
                continue
            try:
                actor = await asyncio.to_thread(self._ray.get_actor, entry["name"], namespace)
                if await asyncio.wait_for(actor.current_task.remote(), CALL_TIMEOUT_S) == task_id:
                    return actor
            except Exception:
                continue
        return None

    async def _release(self, handle: TaskHandle) -> None:
        """End the runner of a task that has ended, and its gang's placement group once
        no member's runner is left."""
        actor = self._actors.pop(handle.task_id, None) or await self._find(handle)
        self._actors.pop(handle.task_id, None)
        if actor is not None:
            await self._kill(actor)
        group_name = str(handle.data.get("group") or "")
        if not group_name:
            return
        for name, namespace in handle.data.get("members", []):
            if name == handle.data["actor"]:
                continue
            try:
                await asyncio.to_thread(self._ray.get_actor, name, namespace)
                return  # a member still runs: the group stays
            except ValueError:
                continue
        await asyncio.to_thread(self._remove_group, group_name)

    def _remove_group(self, name: str) -> None:
        try:
            group = self._ray.util.get_placement_group(name)
        except ValueError:
            return  # removed already
        self._ray.util.remove_placement_group(group)

    async def _kill(self, actor: Any) -> None:
        try:
            await asyncio.to_thread(self._ray.kill, actor, no_restart=True)
        except Exception as error:
            log.debug("ending a runner failed (it may be gone): %s", error)


def _owner() -> str:
    """This server process, as a spare records its owner: host, pid, start time."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {start_ticks(pid)}"


def _owner_gone(owner: str) -> bool:
    """Whether the server process a spare names has ended (one on another host, or an
    owner not understood, is never taken for gone)."""
    parts = owner.split()
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    return str(start_ticks(int(parts[1]))) != parts[2]


def _actor_unreachable(error: BaseException) -> bool:
    """Ray cannot reach the runner now (its node may be cut off); it may come back."""
    from ray.exceptions import ActorUnavailableError

    return isinstance(error, ActorUnavailableError)


def _actor_dead(error: BaseException) -> bool:
    from ray.exceptions import RayActorError

    return isinstance(error, RayActorError) and not _actor_unreachable(error)


def _backend_error(error: BaseException) -> BaseException:
    """A failed start, as the user reads it: the runner's own reason where it gave one."""
    cause = getattr(error, "cause", None)  # a runner's own exception, inside Ray's
    if isinstance(cause, BackendError):
        return BackendError(str(cause))
    if isinstance(error, BackendError | asyncio.CancelledError):
        return error
    if isinstance(error, Exception):
        return BackendError(f"Ray could not start the task: {error}")
    return error
