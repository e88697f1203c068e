"""Memory and CPU limits for local tasks, through the cgroup file system (v1 or v2).

Each task gets a group of its own under a platform-owned parent group (``openarts-`` and
a digest of the task folder, so two platforms on one host never share one) that lives
*inside the server's own cgroup*: the tasks then stay within whatever the server itself
was given (a systemd unit, a container), and nothing outside the subtree the server was
put in is touched. On cgroup v2 this needs the memory and cpu controllers to be enabled
for the server's children, which the kernel refuses while the server's group holds
processes, unless it is the root group. Where the server's own process is the only one in
its group, it does what container inits do, once per process, when limits are detected:
it moves itself into a leaf group of its own (``openarts-server``) and enables the
controllers for the group's children, so the platform's group is the leaf's sibling. It
never moves another process: where any is left in the group it gives up, moves back and
says why. An empty delegated group (systemd ``Delegate=yes``) can be named instead with
``parent`` (``OPENARTS_CGROUP_PARENT``), as a cgroup path or as its directory under the
cgroup mount; the tasks' groups are then made in it directly. On cgroup v1 each
controller has its own hierarchy, so a task has one group per controller (memory and cpu).

Whether limits can be enforced is found out once, by creating a probe group, writing
no-op limits to it and removing it again; where that fails the reason is kept and
limits are only accounted. The task's wrapper moves itself into the task's groups before
it runs the command, so everything the command starts is inside them from the start.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openarts.backends.base import ResourceRequest

log = logging.getLogger(__name__)

FS_ROOT = Path("/sys/fs/cgroup")
PROC_SELF = Path("/proc/self")
PARENT_NAME = "openarts"
CPU_PERIOD_US = 100_000
# The kernel refuses CFS quotas under one millisecond.
MIN_CPU_QUOTA_US = 1_000
V1_CONTROLLERS = ("memory", "cpu")
V2_CONTROLLERS = ("memory", "cpu")
# The v2 leaf group the server moves its own process into, where its group holds it.
LEAF_NAME = "openarts-server"
# Per server group on v2 where the server had to move into a leaf: None once it is in the
# leaf, else why it could not; so that it is tried once per process.
_rooms: dict[Path, str | None] = {}
_rooms_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Where the platform's groups live in one cgroup hierarchy."""

    controller: str  # "unified" on v2, the v1 controller otherwise
    parent: Path  # the group the tasks' groups are made in
    removable: bool = True  # the platform made it, and removes it once it is empty


def limit_writes(
    version: int, controller: str, resources: ResourceRequest
) -> list[tuple[str, str]]:
    """The (file, value) writes that apply ``resources`` to a task group, in order."""
    writes: list[tuple[str, str]] = []
    memory = resources.memory_bytes if resources.memory_bytes > 0 else None
    quota = (
        max(MIN_CPU_QUOTA_US, round(resources.vcpus * CPU_PERIOD_US))
        if resources.vcpus > 0
        else None
    )
    if version == 2:
        writes.append(("memory.max", str(memory) if memory else "max"))
        writes.append(("cpu.max", f"{quota if quota else 'max'} {CPU_PERIOD_US}"))
    elif controller == "memory":
        writes.append(("memory.limit_in_bytes", str(memory) if memory else "-1"))
    elif controller == "cpu":
        # The period first: the quota is checked against it.
        writes.append(("cpu.cfs_period_us", str(CPU_PERIOD_US)))
        writes.append(("cpu.cfs_quota_us", str(quota) if quota else "-1"))
    return writes


def swap_writes(version: int, controller: str, resources: ResourceRequest) -> list[tuple[str, str]]:
    """Best-effort writes that stop a task from paging out past its memory limit: only
    present where the kernel accounts swap, and harmless to miss where it does not."""
    if resources.memory_bytes <= 0:
        return []
    if version == 2:
        return [("memory.swap.max", "0")]
    if controller == "memory":
        # memsw is memory plus swap, and may not be below the memory limit.
        return [("memory.memsw.limit_in_bytes", str(resources.memory_bytes))]
    return []


def group_name(task_id: str) -> str:
    """A directory name for the task's group that cannot escape its parent."""
    return "task-" + re.sub(r"[^A-Za-z0-9_.-]", "_", task_id)


def own_cgroups(proc_self: Path) -> dict[str, str]:
    """The server's own cgroup path per v1 controller, and under "" for v2."""
    paths: dict[str, str] = {}
    for line in (proc_self / "cgroup").read_text().splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclass(frozen=True, slots=True)
class Mount:
    root: str  # the path inside the hierarchy that is mounted
    point: Path
    fstype: str
    options: frozenset[str]


def cgroup_mounts(proc_self: Path) -> list[Mount]:
    mounts = []
    for line in (proc_self / "mountinfo").read_text().splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or len(fields) < dash + 4:
            continue
        fstype = fields[dash + 1]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        point = Path(fields[4].replace("\\040", " "))
        options = frozenset(fields[dash + 3].split(","))
        mounts.append(Mount(fields[3], point, fstype, options))
    return mounts


def locate(mount: Mount, path: str) -> Path | None:
    """The directory of cgroup ``path`` under ``mount``, or None where it is not mounted."""
    relative = os.path.relpath(path, mount.root)
    if relative == ".":
        return mount.point
    if relative.startswith(".."):
        return None
    return mount.point / relative


def _mkdir(path: Path) -> None:
    path.mkdir()


def _rmdir(path: Path) -> None:
    path.rmdir()


def _procs(group: Path) -> set[int]:
    """The pids directly in a group; a pid from outside our pid namespace reads as 0."""
    return {int(pid) for pid in (group / "cgroup.procs").read_text().split() if pid.isdigit()}


def _subtree(group: Path) -> set[str]:
    return set((group / "cgroup.subtree_control").read_text().split())


def _is_server_leaf(group: Path) -> bool:
    """Whether ``group`` is the leaf a server moved itself into (so its processes, and
    the servers they start, make their groups beside it, not inside it)."""
    if group.name != LEAF_NAME:
        return False
    try:
        return set(V2_CONTROLLERS) <= _subtree(group.parent)
    except OSError:
        return False


def _crowded(group: Path, others: set[int]) -> str:
    shown = ", ".join(str(pid) for pid in sorted(others)[:5])
    more = f" and {len(others) - 5} more" if len(others) > 5 else ""
    return (
        f"cgroup v2: the server's cgroup {group} holds other processes than the server"
        f" (pids {shown}{more}), which are not the server's to move, so the memory and cpu"
        " controllers cannot be enabled for its children; name an empty delegated cgroup"
        " with OPENARTS_CGROUP_PARENT"
    )


def _make_room(group: Path) -> str | Callable[[str], None] | None:
    """Let the memory and cpu controllers be enabled for the children of ``group``, the
    server's own v2 group. Where the kernel refuses because the group holds processes,
    and the server's is the only one, move it into a leaf group of its own. Returns why it
    cannot be done, or, where the server was moved, what undoes it (given why it has to
    be undone); None where nothing needed doing or the probe is left to find what is
    wrong."""
    with _rooms_lock:
        if group in _rooms:
            return _rooms[group]
        try:
            if set(V2_CONTROLLERS) <= _subtree(group):
                return None
            for controller in V2_CONTROLLERS:
                _write(group / "cgroup.subtree_control", f"+{controller}")
            return None  # an empty group, or the root one, which may hold processes
        except OSError as error:
            if error.errno != errno.EBUSY:
                return None
        outcome = _move_into_leaf(group)
        _rooms[group] = outcome if isinstance(outcome, str) else None
        return outcome


def _move_into_leaf(group: Path) -> str | Callable[[str], None]:
    me = os.getpid()
    leaf = group / LEAF_NAME
    try:
        others = _procs(group) - {me}
    except OSError as error:
        return f"cgroup v2: cannot read which processes are in {group} ({error})"
    if others:
        return _crowded(group, others)
    made = False
    enabled: list[str] = []

    def restore() -> None:
        for controller in reversed(enabled):
            with contextlib.suppress(OSError):
                _write(group / "cgroup.subtree_control", f"-{controller}")
        enabled.clear()
        try:
            if me in _procs(leaf):
                _write(group / "cgroup.procs", str(me))
            if made:
                _rmdir(leaf)
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("could not move the server back out of %s: %s", leaf, error)

    def undo(why: str) -> None:
        restore()
        log.info("moved the server back out of %s: %s", leaf, why)
        with _rooms_lock:
            _rooms[group] = why

    try:
        try:
            _mkdir(leaf)
            made = True
        except FileExistsError:
            pass
        _write(leaf / "cgroup.procs", str(me))
        others = _procs(group)
        if others:  # started since we looked
            restore()
            return _crowded(group, others)
        for controller in V2_CONTROLLERS:
            if controller not in _subtree(group):
                _write(group / "cgroup.subtree_control", f"+{controller}")
                enabled.append(controller)
    except OSError as error:
        reason = (
            f"cgroup v2: could not move the server into a leaf group {leaf} and enable the"
            f" memory and cpu controllers for the children of {group} ({error})"
        )
        restore()
        return reason
    log.info(
        "moved the server's process (pid %d) out of its cgroup %s into %s and enabled the"
        " memory and cpu controllers for the group's children, so that tasks' groups can be"
        " made beside it",
        me,
        group,
        leaf,
    )
    return undo


def _as_cgroup_path(parent: str, mounts: Sequence[Mount]) -> str:
    """A parent given as its directory under one of ``mounts`` as a cgroup path; a cgroup
    path as it is."""
    for mount in mounts:
        relative = os.path.relpath(parent, mount.point)
        if relative == "." or not relative.startswith(".."):
            return posixpath.normpath(posixpath.join(mount.root, relative))
    return parent


def _write(path: Path, value: str) -> None:
    # Without O_CREAT: a control file that is missing means the controller is not there.
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _read_flat_keyed(path: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value.strip())
        except ValueError:
            continue
    return values


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


class Cgroups:
    """The platform's cgroups: limits for tasks where the file system lets us, else none."""

    def __init__(
        self,
        version: int,  # 0 where there is no usable cgroup file system
        hierarchies: Sequence[Hierarchy],
        *,
        enforced: bool,
        reason: str,
    ) -> None:
        self.version = version
        self.hierarchies = tuple(hierarchies)
        self.enforced = enforced
        self.reason = reason
        # Serialises creating the parent with removing it once empty, within this process;
        # other processes are handled by retrying.
        self._lock = threading.Lock()
        # Groups that were still busy when their task was done with, tried again later.
        self._pending: set[Path] = set()

    @classmethod
    def disabled(cls, reason: str) -> Cgroups:
        return cls(0, (), enforced=False, reason=reason)

    @classmethod
    def detect(
        cls,
        *,
        fs_root: Path = FS_ROOT,
        proc_self: Path = PROC_SELF,
        parent: str | os.PathLike[str] | None = None,
        name: str = PARENT_NAME,
    ) -> Cgroups:
        """Find the hierarchies and probe them; never raises. The tasks' groups are made
        in a group called ``name`` inside the server's own cgroup (on v2 beside the leaf
        the server moves itself into where it has to) or, where ``parent`` is given (a
        cgroup path, as in /proc/self/cgroup, or that group's directory under the cgroup
        mount), in that group as it is."""
        try:
            found = cls._find(
                fs_root, proc_self, None if parent is None else os.fspath(parent), name
            )
        except OSError as error:
            return cls.disabled(f"cgroups: cannot read the cgroup layout ({error})")
        if isinstance(found, str):
            return cls.disabled(found)
        version, hierarchies = found
        undo = None
        if version == 2 and hierarchies[0].removable:
            room = _make_room(hierarchies[0].parent.parent)
            if isinstance(room, str):
                return cls(version, hierarchies, enforced=False, reason=room)
            undo = room
        where = ", ".join(str(h.parent) for h in hierarchies)
        probe = cls(version, hierarchies, enforced=True, reason=f"cgroup v{version} at {where}")
        problem = probe._probe()
        if problem is not None:
            if undo is not None:
                undo(problem)
            return cls(version, hierarchies, enforced=False, reason=problem)
        return probe

    @staticmethod
    def _find(
        fs_root: Path, proc_self: Path, parent: str | None, name: str
    ) -> tuple[int, list[Hierarchy]] | str:
        own = own_cgroups(proc_self)
        mounts = cgroup_mounts(proc_self)
        version = 2 if (fs_root / "cgroup.controllers").exists() else 1
        places: list[tuple[str, Mount, str]] = []
        if version == 2:
            unified = [m for m in mounts if m.fstype == "cgroup2" and m.point == fs_root]
            mount = unified[0] if unified else Mount("/", fs_root, "cgroup2", frozenset())
            places.append(("unified", mount, own.get("", "/")))
        else:
            for controller in V1_CONTROLLERS:
                found = [m for m in mounts if m.fstype == "cgroup" and controller in m.options]
                if not found:
                    return f"cgroup v1: no {controller} hierarchy is mounted"
                places.append((controller, found[0], own.get(controller, "/")))
        if parent is not None:
            if not parent.startswith("/"):
                return f"cgroups: the parent cgroup {parent!r} is not an absolute path"
            parent = _as_cgroup_path(parent, [mount for _, mount, _ in places])
        hierarchies = []
        for controller, mount, path in places:
            here = locate(mount, parent if parent is not None else path)
            if here is None:
                return f"cgroup v{version}: {parent or path} is not under {mount.point}"
            if parent is not None:
                hierarchies.append(Hierarchy(controller, here, removable=False))
            else:
                if version == 2 and _is_server_leaf(here):
                    here = here.parent  # moved there by this process, or the one it came from
                hierarchies.append(Hierarchy(controller, here / name))
        return version, hierarchies

    def _probe(self) -> str | None:
        """Create a group, write no-op limits to it and remove it; why not, if it fails."""
        name = f"probe-{os.getpid()}-{threading.get_ident()}"
        try:
            dirs = self._make(name, ResourceRequest(vcpus=0, memory_bytes=0))
        except OSError as error:
            return f"cgroup v{self.version} is not writable here ({error})"
        self.remove(dirs)
        return None

    # -- per task ----------------------------------------------------------------------
    def groups(self, task_id: str) -> list[Path]:
        """Where the task's groups are (or would be), one per hierarchy."""
        return [h.parent / group_name(task_id) for h in self.hierarchies]

    def create(self, task_id: str, resources: ResourceRequest) -> list[Path]:
        """Create the task's groups with its limits applied; remove them again and raise
        OSError if any part fails. Empty where limits are not enforced."""
        if not self.enforced:
            return []
        return self._make(group_name(task_id), resources)

    def _make(self, name: str, resources: ResourceRequest) -> list[Path]:
        made: list[Path] = []
        try:
            for hierarchy in self.hierarchies:
                group = hierarchy.parent / name
                self._mkdir_under_parent(hierarchy, group)
                made.append(group)
                for file, value in limit_writes(self.version, hierarchy.controller, resources):
                    _write(group / file, value)
                for file, value in swap_writes(self.version, hierarchy.controller, resources):
                    with contextlib.suppress(OSError):
                        _write(group / file, value)
        except OSError:
            self.remove(made)
            for hierarchy in self.hierarchies:
                self._remove_parent(hierarchy.parent)  # made, maybe, before the failure
            raise
        return made

    def _mkdir_under_parent(self, hierarchy: Hierarchy, group: Path) -> None:
        # Another server process may remove an empty parent between our two mkdirs.
        for attempt in range(3):
            with self._lock:
                self._ensure_parent(hierarchy)
                try:
                    _mkdir(group)
                    return
                except FileExistsError:
                    # Left from an earlier run of the task: start afresh where it is empty,
                    # so no stale limit gets in the way of the new ones.
                    with contextlib.suppress(OSError):
                        _rmdir(group)
                        _mkdir(group)
                    return
                except FileNotFoundError:
                    if attempt == 2:
                        raise

    def _ensure_parent(self, hierarchy: Hierarchy) -> None:
        if not hierarchy.parent.is_dir():
            if not hierarchy.removable:
                raise FileNotFoundError(
                    errno.ENOENT, "no such parent cgroup", str(hierarchy.parent)
                )
            if self.version == 2:
                # The parent only gets the controllers its own parent hands down.
                self._enable_controllers(hierarchy.parent.parent)
            with contextlib.suppress(FileExistsError):
                _mkdir(hierarchy.parent)
        if self.version == 2:
            self._enable_controllers(hierarchy.parent)

    @staticmethod
    def _enable_controllers(group: Path) -> None:
        enabled = _subtree(group)
        for controller in V2_CONTROLLERS:
            if controller in enabled:
                continue
            try:
                _write(group / "cgroup.subtree_control", f"+{controller}")
            except OSError as error:
                if error.errno == errno.EBUSY:
                    raise OSError(
                        error.errno,
                        f"cannot enable the {controller} controller for the children of"
                        f" {group}: it holds processes (name an empty delegated cgroup with"
                        " OPENARTS_CGROUP_PARENT)",
                    ) from error
                raise

    @staticmethod
    def join_files(groups: Sequence[Path]) -> list[str]:
        """The files a process writes its pid to, to enter the groups."""
        return [str(group / "cgroup.procs") for group in groups]

    @staticmethod
    def pids(groups: Sequence[Path]) -> list[int]:
        pids: set[int] = set()
        for group in groups:
            try:
                text = (group / "cgroup.procs").read_text()
            except OSError:
                continue
            pids.update(int(pid) for pid in text.split() if pid.isdigit())
        return sorted(pids)

    def oom_killed(self, groups: Sequence[Path]) -> bool:
        """Whether the kernel's OOM killer ended a process in the task's memory group."""
        for group in groups:
            events = _read_flat_keyed(group / "memory.events")  # v2
            if events.get("oom_kill", 0) > 0:
                return True
            control = _read_flat_keyed(group / "memory.oom_control")  # v1
            if control.get("oom_kill", 0) > 0:
                return True
            # Kernels before 4.13 do not count kills; hitting the limit is the best sign
            # there is, and the caller only asks about a task that died.
            if (
                control
                and "oom_kill" not in control
                and (_read_int(group / "memory.failcnt") or 0) > 0
            ):
                return True
        return False

    @staticmethod
    def memory_limit(groups: Sequence[Path]) -> int | None:
        for group in groups:
            for file in ("memory.max", "memory.limit_in_bytes"):
                limit = _read_int(group / file)  # v2 says "max" for no limit
                if limit is not None and limit < 1 << 62:  # v1 says it with a huge number
                    return limit
        return None

    def remove(self, groups: Sequence[Path], *, wait_s: float = 2.0) -> bool:
        """Remove the task's groups and, once empty, the parents. A group still holding
        processes that were just killed is retried until ``wait_s``, and after that at
        each ``tidy``. True when all went."""
        deadline = time.monotonic() + wait_s
        removed = True
        for group in groups:
            while True:
                try:
                    _rmdir(group)
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or time.monotonic() >= deadline:
                        # Without a wait this is expected (the kernel frees a group a
                        # moment after its last process): tidy() tries again.
                        log.log(
                            logging.WARNING if wait_s else logging.DEBUG,
                            "could not remove cgroup %s yet: %s",
                            group,
                            error,
                        )
                        self._pending.add(group)
                        removed = False
                        break
                    time.sleep(0.01)
            self._remove_parent(group.parent)
        return removed

    def tidy(self) -> None:
        """Try again to remove the groups that were busy before; cheap when there are none."""
        for group in list(self._pending):
            try:
                _rmdir(group)
            except FileNotFoundError:
                pass
            except OSError:
                continue
            self._pending.discard(group)
            self._remove_parent(group.parent)

    def _remove_parent(self, parent: Path) -> None:
        if parent not in {h.parent for h in self.hierarchies if h.removable}:
            return
        # Refused while other tasks' groups are in it, which is as it should be.
        with self._lock, contextlib.suppress(OSError):
            _rmdir(parent)
