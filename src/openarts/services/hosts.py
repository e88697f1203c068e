"""The backend's hosts as the platform last saw them, for the checks a request makes
(could this job, pool or service ever fit?).

The workload loop reads them at every pass (``refresh``); a request takes the latest
reading (``known``), and asks the backend itself only before the first pass has run.
Either way the backend is called outside any transaction.
"""

from __future__ import annotations

from openarts.backends.base import ComputeBackend, NodeInfo
from openarts.domain.capacity import HostNode


def host_node(info: NodeInfo, cpu_share: float = 1.0) -> HostNode:
    gpu_ids = tuple(info.gpu_ids) or tuple(range(info.gpus))
    return HostNode(info.name, info.vcpus, info.memory_bytes, gpu_ids, info.whole, cpu_share)


class Hosts:
    def __init__(self, backend: ComputeBackend, public_cpu_share: float = 1.0) -> None:
        self.backend = backend
        self.latest: list[HostNode] = []
        # How many times over the public pool promises vCPUs, where the backend shares
        # CPUs by time (domain/cpu_share.py); strict elsewhere.
        self.cpu_share = public_cpu_share if backend.shares_cpus else 1.0

    async def refresh(self) -> list[HostNode]:
        """Ask the backend now."""
        self.latest = [host_node(n, self.cpu_share) for n in await self.backend.nodes()]
        return self.latest

    async def known(self) -> list[HostNode]:
        """The latest reading, or a fresh one when there is none yet."""
        return self.latest or await self.refresh()
