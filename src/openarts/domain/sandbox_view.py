"""What a sandboxed task sees: the folders it is given and where, whom it runs as, its
host name, and the network it shares.

ModelArts runs users' code as ``ma-user`` (uid 1000, gid 100) with its home in
``/home/ma-user``; custom images are built for that user. A task here is that user
inside; outside, it is an unprivileged uid of its project's own (``projects.sandbox_uid``),
so two projects' tasks cannot touch each other's files even outside their views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MA_USER = "ma-user"
MA_UID = 1000
MA_GID = 100
MA_HOME = "/home/ma-user"
# Outside uids of projects' tasks: far above any real account and any subordinate-id
# range a distribution hands out by default (100000-165535 for the first user).
SANDBOX_UID_BASE = 2_000_000
# The outside uid of environment builds (``pip install`` of what a model or an engine
# asks for): no project's, and the environments it makes are handed back to the server
# once made, so no later build (nor any task) can change them.
BUILD_UID = SANDBOX_UID_BASE - 1


@dataclass(frozen=True, slots=True)
class Mount:
    source: str  # a folder on the host
    target: str  # where the task sees it
    writable: bool = False


@dataclass(frozen=True, slots=True)
class TaskView:
    """Stored with a workload's task templates (JSON), read by the backend that starts
    the task."""

    # The outside uid of the project's tasks; the backend makes the writable folders its.
    uid: int
    hostname: str
    mounts: tuple[Mount, ...] = ()
    # Tasks with the same non-empty name share one network namespace (a gang's tasks
    # reach each other over loopback); "" gives the task a namespace of its own.
    network: str = ""
    # Extra folders of software (an environment's packages) seen read-only where they
    # are on the host: the interpreter's own are found by the backend.
    software: tuple[str, ...] = ()
    # A network served by pasta: the platform's forwarded port (the object-storage
    # endpoint) on its own loopback, and nothing else of the host or beyond.
    egress: bool = False
    # With ``egress``: out to the Internet as well (an environment build fetching its
    # packages), and then no forwarded port: never the host's loopback.
    internet: bool = False
    # A container image (its reference): the task sees that image's root file system as
    # its system, in place of the host's (backends/images.py); "": the host's.
    image: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "hostname": self.hostname,
            "mounts": [[m.source, m.target, m.writable] for m in self.mounts],
            "network": self.network,
            "software": list(self.software),
            "egress": self.egress,
            "internet": self.internet,
            "image": self.image,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TaskView:
        return cls(
            uid=int(raw["uid"]),
            hostname=str(raw["hostname"]),
            mounts=tuple(Mount(str(s), str(t), bool(w)) for s, t, w in raw.get("mounts", ())),
            network=str(raw.get("network", "")),
            software=tuple(str(p) for p in raw.get("software", ())),
            egress=bool(raw.get("egress", False)),
            internet=bool(raw.get("internet", False)),
            image=str(raw.get("image", "")),
        )


def sandbox_uid(sequence: int) -> int:
    """The outside uid of the ``sequence``-th project (from 0)."""
    return SANDBOX_UID_BASE + sequence


@dataclass(frozen=True, slots=True)
class SandboxReport:
    """What isolation is in force, for the banner, the console and /health."""

    enabled: bool
    summary: str

    def to_json(self) -> dict[str, object]:
        return {"enabled": self.enabled, "summary": self.summary}


OFF_REPORT = SandboxReport(
    False,
    "OFF: users' code runs as the server's own user and can read everything it can "
    "(the home, the database, the keys); for a single-user machine only",
)
