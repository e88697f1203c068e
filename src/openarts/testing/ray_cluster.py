"""A private Ray cluster on this machine, for tests and benchmarks: each node on a loopback
address of its own (127.0.0.2, 127.0.0.3, ...), torn down by PID.

Why it is built this way:

* Never ``ray stop``: it ends every Ray process on the host, other people's too. Closing
  ends exactly this cluster's processes: those whose command line names its private folder,
  those started with its marker in their environment (a job's own subprocesses, which keep
  running when a killed raylet's workers go), their descendants, and any process it has
  seen before.
* The folder is made directly under /tmp, not under the caller's (often deep) test folder:
  Ray puts unix sockets several levels below it, and a socket path may not exceed 107
  characters. Each node has a subfolder of its own, so its logs and processes are told
  apart from the other nodes'.
* Every port Ray would otherwise take at a fixed default (6379, 8265, 10001, 52365, the
  worker range 10002-19999) is chosen free or left to the kernel, so two clusters, or
  someone else's Ray on the same host, never meet.
* The GCS checks raylets every half second, so a killed raylet is declared dead in about
  two seconds rather than Ray's default half minute.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

# Names checked against Ray 2.60: the GCS and raylet binaries read RAY_<name> for each
# entry of their config (ray_config_def.h), and these four are among them.
DEFAULT_NODE_ENV: dict[str, str] = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "0",
    "RAY_health_check_timeout_ms": "500",
    "RAY_USAGE_STATS_ENABLED": "0",
    # Said outright: left unset, Ray switches token authentication on by itself when the
    # user happens to own a token file, and the tests would then depend on that file.
    "RAY_AUTH_MODE": "disabled",
}
# Set, with the cluster's folder as value, in every node process's environment; Ray hands
# it on to workers, and workers to whatever they start.
MARKER_ENV = "OPENARTS_RAY_CLUSTER"
NODE_START_TIMEOUT_S = 60.0
START_ATTEMPTS = 2
RAY_STARTUP_TIMED_OUT = "The current node timed out during startup"
RAY_PORT_TAKEN = "is trying to use a port number"
# Enough for every port a head node is given in _start_argv (nine today).
PORTS_PER_NODE = 10
# Ray's GCS and raylets take many seconds over a SIGTERM (the GCS waits to flush events
# to agents that are going too); a test cluster has nothing worth that wait.
CLOSE_GRACE_S = 2.0
CLOSE_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 3000
MAX_SOCKET_PATH = 107
# How far below a node's folder Ray's longest socket path reaches, e.g.
# /session_2026-01-01_00-00-00_000000_1234567/sockets/plasma_store.10
SOCKET_SUFFIX_LENGTH = 72

# Asked in a fresh interpreter so that the caller never holds a GCS connection (and its
# threads) to a cluster it may kill. Prints the nodes as JSON; exits 0 once the alive nodes'
# addresses are exactly the expected ones, 1 if the deadline passes first.
_WAIT_FOR_NODES = """
import json, sys, time
from ray._raylet import GcsClient
from ray.core.generated import gcs_pb2

address, expected, timeout_s = sys.argv[1], sorted(json.loads(sys.argv[2])), float(sys.argv[3])
deadline = time.monotonic() + timeout_s
client = GcsClient(address=address)
while True:
    try:
        infos, error = list(client.get_all_node_info(timeout=5).values()), ""
    except Exception as failure:
        infos, error = [], repr(failure)
    nodes = [
        {
            "ip": info.node_manager_address,
            "alive": info.state == gcs_pb2.GcsNodeInfo.ALIVE,
            "resources": dict(info.resources_total),
            "labels": dict(info.labels),
        }
        for info in infos
    ]
    alive = sorted(node["ip"] for node in nodes if node["alive"])
    if alive == expected or time.monotonic() > deadline:
        print(json.dumps({"nodes": nodes, "error": error}))
        sys.exit(0 if alive == expected else 1)
    time.sleep(0.05)
"""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node to start; the first of a cluster's list is its head."""

    ip: str
    num_cpus: float = 1
    memory_bytes: int = 1 << 30
    # Ray refuses an object store under about 75 MB.
    object_store_memory_bytes: int = 100_000_000
    resources: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RayNode:
    """A started node. ``pids`` are its processes once it was up (raylet, agents, log
    monitor; on the head also the GCS, autoscaler monitor and API server); for the live set,
    workers included, ask ``RayCluster.node_processes``."""

    spec: NodeSpec
    temp_dir: Path
    node_manager_port: int
    raylet_pid: int
    pids: tuple[int, ...]

    @property
    def ip(self) -> str:
        return self.spec.ip

    @property
    def logs(self) -> Path:
        return self.temp_dir / "session_latest" / "logs"


class RayCluster:
    """Start with ``RayCluster.start(root, nodes)``, then use as a context manager or call
    ``close()``."""

    def __init__(self, temp_dir: Path, root: Path, env: Mapping[str, str]) -> None:
        self.temp_dir = temp_dir
        self.root = root
        self.env: dict[str, str] = dict(env)
        self.address = ""
        self.nodes: list[RayNode] = []
        self._marker = _path_pattern(temp_dir)
        # Every process ever found, so that one which has lost both its parent and any
        # mention of the folder (a killed raylet's worker, renamed "ray::IDLE") is still
        # ended. psutil compares start times, so a reused pid is never mistaken for it.
        self._seen: dict[int, psutil.Process] = {}

    @classmethod
    def start(
        cls,
        root: Path,
        nodes: Sequence[NodeSpec],
        env: Mapping[str, str] | None = None,
        *,
        node_timeout_s: float = NODE_START_TIMEOUT_S,
    ) -> RayCluster:
        """Start ``nodes`` one after another, the first as head, each up before the next
        starts; return once the GCS reports all of them alive. ``root`` receives each
        ``ray start``'s output and, on close, a copy of every node's Ray logs. ``env`` is
        laid over ``DEFAULT_NODE_ENV`` for the nodes' processes."""
        if not nodes:
            raise ValueError("a cluster needs at least its head node")
        ips = [node.ip for node in nodes]
        if len(set(ips)) != len(ips):
            raise ValueError(f"each node needs an address of its own: {ips}")
        root.mkdir(parents=True, exist_ok=True)
        temp_dir = Path(tempfile.mkdtemp(prefix="oaray", dir="/tmp"))
        if (
            len(str(temp_dir / f"n{len(nodes)}.{START_ATTEMPTS}")) + SOCKET_SUFFIX_LENGTH
            > MAX_SOCKET_PATH
        ):
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise RuntimeError(f"{temp_dir} is too long a path for Ray's unix sockets")
        cluster = cls(temp_dir, root, {**DEFAULT_NODE_ENV, **(env or {})})
        try:
            for node in nodes:
                cluster._start_node(node, node_timeout_s)
            cluster.wait_for_nodes(ips, timeout_s=node_timeout_s)
        except BaseException:
            cluster.close()
            raise
        return cluster

    @property
    def client_env(self) -> dict[str, str]:
        """An environment for a driver or client of this cluster: the nodes' settings
        (authentication mode, say) without the marker that ``close`` ends processes by."""
        return {**os.environ, **self.env}

    def node(self, ip: str) -> RayNode:
        for node in self.nodes:
            if node.ip == ip:
                return node
        raise LookupError(f"no node {ip} in the Ray cluster in {self.temp_dir}")

    def _start_node(self, spec: NodeSpec, timeout_s: float) -> None:
        index = len(self.nodes)
        output = self.root / f"ray-start-{spec.ip}.log"
        for attempt in range(START_ATTEMPTS):
            node_dir = self.temp_dir / (f"n{index}.{attempt}" if attempt else f"n{index}")
            node_dir.mkdir()
            ports = _free_ports(PORTS_PER_NODE)
            manager_port = ports[0]
            argv = self._start_argv(spec, node_dir, ports)
            deadline = time.monotonic() + timeout_s
            written = output.stat().st_size if output.exists() else 0
            with output.open("ab") as log:
                try:
                    done = subprocess.run(
                        argv,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env={**self.client_env, MARKER_ENV: str(self.temp_dir)},
                        timeout=timeout_s,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    raise RuntimeError(
                        self._failure(spec, node_dir, "ray start timed out")
                    ) from None
            if done.returncode == 0:
                break
            said = _tail(output, output.stat().st_size - written)
            retryable = RAY_STARTUP_TIMED_OUT in said or RAY_PORT_TAKEN in said
            if attempt + 1 == START_ATTEMPTS or not retryable:
                raise RuntimeError(
                    self._failure(spec, node_dir, f"ray start exited {done.returncode}")
                )
            # Ray gives a raylet a fixed 30 s to register, which a busy machine can exceed
            # while the node's Python agents start; a second try finds their imports cached.
            # A port another process took between our probe and Ray's bind gets new ports.
            self._end(functools.partial(self._processes, _path_pattern(node_dir)))
        # `ray start` returns once the raylet has registered; checked all the same, cheaply,
        # that it is still there and answering.
        while (raylet := self._find_raylet(spec.ip)) is None or not _answers(spec.ip, manager_port):
            if time.monotonic() > deadline:
                raise RuntimeError(self._failure(spec, node_dir, "the raylet never answered"))
            time.sleep(0.05)
        pids = tuple(process.pid for process in self._processes(_path_pattern(node_dir)))
        self.nodes.append(RayNode(spec, node_dir, manager_port, raylet.pid, pids))

    def _start_argv(self, spec: NodeSpec, node_dir: Path, ports: list[int]) -> list[str]:
        spare = iter(ports)
        manager_port = next(spare)
        argv = [
            str(Path(sys.executable).with_name("ray")),  # not PATH's: it may be another Ray
            "start",
            f"--node-ip-address={spec.ip}",
            f"--temp-dir={node_dir}",
            f"--num-cpus={spec.num_cpus:g}",
            f"--memory={spec.memory_bytes}",
            f"--object-store-memory={spec.object_store_memory_bytes}",
            f"--node-manager-port={manager_port}",
            f"--object-manager-port={next(spare)}",
            f"--dashboard-agent-listen-port={next(spare)}",
            f"--dashboard-agent-grpc-port={next(spare)}",
            f"--metrics-export-port={next(spare)}",
            f"--runtime-env-agent-port={next(spare)}",
            # Zero lets each worker take its port from the kernel. A range, however private
            # it looks, may still be another cluster's; the kernel's choice cannot be.
            "--min-worker-port=0",
            "--max-worker-port=0",
            "--disable-usage-stats",
        ]
        if spec.resources:
            argv.append(f"--resources={json.dumps(dict(spec.resources))}")
        if spec.labels:
            argv.append("--labels=" + ",".join(f"{k}={v}" for k, v in spec.labels.items()))
        if self.nodes:
            return [*argv, f"--address={self.address}"]
        gcs_port = next(spare)
        self.address = f"{spec.ip}:{gcs_port}"
        argv += [
            "--head",
            f"--port={gcs_port}",
            "--include-dashboard=false",
            # Even without the dashboard, the head runs Ray's API server (jobs, state), at
            # 127.0.0.1:8265 unless told otherwise.
            f"--dashboard-host={spec.ip}",
            f"--dashboard-port={next(spare)}",
        ]
        # The client server (at 10001 by default) runs only where grpc is installed;
        # elsewhere `ray start` refuses the flag.
        if importlib.util.find_spec("grpc") is not None:
            argv.append(f"--ray-client-server-port={next(spare)}")
        return argv

    def _failure(self, spec: NodeSpec, node_dir: Path, what: str) -> str:
        output = self.root / f"ray-start-{spec.ip}.log"
        return (
            f"node {spec.ip} of the Ray cluster in {self.temp_dir}: {what}\n"
            f"--- {output}\n{_tail(output)}\n{self.log_tail(node_dir)}"
        )

    def log_tail(self, node_dir: Path | None = None) -> str:
        """The ends of the Ray logs that tell why a node failed; the head's by default."""
        node_dir = node_dir or self.temp_dir / "n0"
        logs = node_dir / "session_latest" / "logs"
        names = ["raylet.out", "raylet.err", "dashboard_agent.log", "runtime_env_agent.log"]
        if node_dir.name.split(".")[0] == "n0":
            names = ["gcs_server.out", "gcs_server.err", *names]
        parts = [
            f"--- {logs / name}\n{_tail(logs / name)}" for name in names if (logs / name).exists()
        ]
        return "\n".join(parts) or f"(no Ray logs in {logs})"

    def wait_for_nodes(
        self, alive_ips: Iterable[str], timeout_s: float = NODE_START_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Wait until the GCS reports exactly ``alive_ips`` alive, and return every node it
        knows (``ip``, ``alive``, ``resources``, ``labels``). Also how to wait for a node's
        death."""
        expected = sorted(alive_ips)
        argv = [sys.executable, "-c", _WAIT_FOR_NODES, self.address, json.dumps(expected)]
        try:
            done = subprocess.run(
                [*argv, str(timeout_s)],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                env=self.client_env,
                timeout=timeout_s + 30,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"asking the GCS at {self.address} hung: {error}") from None
        try:
            nodes: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])["nodes"]
        except (IndexError, KeyError, ValueError):
            nodes = []
        if done.returncode != 0 or not nodes:
            raise RuntimeError(
                f"the GCS at {self.address} did not report exactly {expected} alive within "
                f"{timeout_s:g} s:\n{done.stdout[-LOG_TAIL_CHARS:]}"
                f"{done.stderr[-LOG_TAIL_CHARS:]}\n{self.log_tail()}"
            )
        return nodes

    def processes(self) -> list[psutil.Process]:
        """Every live process of this cluster, zombies left out (they are dead already)."""
        return self._processes(self._marker, by_environment=True)

    def node_processes(self, ip: str) -> list[psutil.Process]:
        """The live processes of one node: those naming its folder, and descendants."""
        return self._processes(_path_pattern(self.node(ip).temp_dir))

    def _processes(
        self, pattern: re.Pattern[str], *, by_environment: bool = False
    ) -> list[psutil.Process]:
        spared = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
        by_pid: dict[int, psutil.Process] = {}
        children: dict[int, list[int]] = {}
        matched: list[int] = []
        for process in psutil.process_iter(["cmdline", "status", "ppid"]):
            info = process.info
            if info["status"] == psutil.STATUS_ZOMBIE:
                continue
            by_pid[process.pid] = process
            children.setdefault(info["ppid"] or 0, []).append(process.pid)
            known = self._seen.get(process.pid)
            if (
                (by_environment and known is not None and known.is_running())
                or any(pattern.search(part) for part in info["cmdline"] or ())
                or (by_environment and self._marked(process))
            ):
                matched.append(process.pid)
        found: set[int] = set()
        while matched:
            pid = matched.pop()
            if pid not in found and pid not in spared:
                found.add(pid)
                matched.extend(children.get(pid, ()))
        processes = [by_pid[pid] for pid in sorted(found)]
        for process in processes:
            self._seen.setdefault(process.pid, process)
        return processes

    def _marked(self, process: psutil.Process) -> bool:
        try:
            return process.environ().get(MARKER_ENV) == str(self.temp_dir)
        except psutil.Error:  # someone else's process, or gone
            return False

    def _find_raylet(self, ip: str) -> psutil.Process | None:
        flag = f"--node_ip_address={ip}"
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                cmdline = process.cmdline()
                if cmdline and Path(cmdline[0]).name == "raylet" and flag in cmdline:
                    return process
        return None

    def kill_raylet(self, ip: str) -> None:
        """SIGKILL the raylet of node ``ip``, as if its machine had crashed; its workers and
        agents notice and exit by themselves (``close`` ends any that linger)."""
        raylet = self._find_raylet(ip)
        if raylet is None:
            raise LookupError(f"no live raylet of {ip} in the Ray cluster in {self.temp_dir}")
        raylet.kill()
        with contextlib.suppress(psutil.Error):
            raylet.wait(timeout=5)

    def close(self, grace_s: float = CLOSE_GRACE_S, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """SIGTERM every process of the cluster, SIGKILL whatever is left after ``grace_s``,
        give up after ``timeout_s``; then keep a copy of the logs under ``root`` and remove
        the private folder. Safe to call more than once."""
        left = self._end(self.processes, grace_s, timeout_s)
        if left:
            # Raising here would hide whatever failure the test is closing over; the folder
            # stays, so the survivors can still be found by it.
            pids = ", ".join(str(process.pid) for process in left)
            warnings.warn(f"{self.temp_dir}: pids {pids} outlived SIGKILL", stacklevel=2)
            return
        if self.temp_dir.exists():
            for index, node in enumerate(self.nodes):
                with contextlib.suppress(OSError):
                    target = self.root / f"logs-{index}-{node.ip}"
                    shutil.copytree(node.logs, target, dirs_exist_ok=True)
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _end(
        self,
        find: Callable[[], list[psutil.Process]],
        grace_s: float = CLOSE_GRACE_S,
        timeout_s: float = CLOSE_TIMEOUT_S,
    ) -> list[psutil.Process]:
        """SIGTERM what ``find`` finds, SIGKILL it after ``grace_s``; return what is left
        after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        grace_until = time.monotonic() + grace_s
        terminated: set[int] = set()
        # Looked for afresh each round: a raylet may still start a worker while it goes.
        while (left := find()) and time.monotonic() < deadline:
            if time.monotonic() < grace_until:
                _send(signal.SIGTERM, [p for p in left if p.pid not in terminated])
                terminated.update(p.pid for p in left)
            else:
                _send(signal.SIGKILL, left)
            psutil.wait_procs(left, timeout=0.1)
        return left

    def __enter__(self) -> RayCluster:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _path_pattern(path: Path) -> re.Pattern[str]:
    # Whole path components only: /tmp/oarayAB must not match /tmp/oarayABC's processes.
    return re.compile(rf"(?:^|[=\s:,'\"]){re.escape(str(path))}(?:$|[/\s:,'\"])")


def _free_ports(count: int) -> list[int]:
    # Probed on every address at once, as some Ray servers bind 0.0.0.0 whatever the node's
    # address. All probes stay bound until the last is taken, so the kernel cannot hand the
    # same port out twice (it did: Ray then refuses to start). Released before Ray binds
    # them: another process may still take one, and Ray then fails loudly and is retried.
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def _answers(ip: str, port: int) -> bool:
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _tail(path: Path, limit: int = LOG_TAIL_CHARS) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            return handle.read().decode(errors="replace")
    except OSError as error:
        return f"(unreadable: {error})"


def _send(signum: signal.Signals, processes: Iterable[psutil.Process]) -> None:
    for process in processes:
        # Gone already, or (psutil checks its start time) the pid is someone else's now.
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)
