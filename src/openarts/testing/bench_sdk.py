"""For benchmarks: the official SDK against a server, a job that waits in line, and calls
per second from several client threads."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import huaweicloudsdkmodelarts.v1.model as sdk
import psutil
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

from openarts.testing.server import ServerProcess

# A flavor of every core, on a server whose public pool is one vCPU per core
# (OPENARTS_PUBLIC_CPU_SHARE=1): one job at a time holds the machine, the rest wait.
WHOLE_MACHINE = "bench.cpu.whole"
WHOLE_MACHINE_FLAVORS = f"""
flavors:
  - name: {WHOLE_MACHINE}
    vcpus: {psutil.cpu_count()}
    memory_gib: 0.5
    uses: [training]
"""
# The boot file of such jobs: it sleeps until terminated.
SLEEPER = b"import time\ntime.sleep(86400)\n"


def sdk_client(server: ServerProcess, *, endpoint: str | None = None) -> ModelArtsClient:
    """A client of ``server``'s project (at ``endpoint`` when another stands before it)."""
    row = server.credentials()
    credentials = BasicCredentials(
        row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )
    return (
        ModelArtsClient.new_builder()
        .with_credentials(credentials)
        .with_endpoint(endpoint or server.endpoint)
        .build()
    )


def create_waiting_job(client: ModelArtsClient, name: str, bucket: str) -> str:
    """A job of ``SLEEPER`` at ``/<bucket>/code/boot.py`` on the whole machine."""
    body = sdk.Job(
        kind="job",
        metadata=sdk.JobMetadata(name=name),
        algorithm=sdk.JobAlgorithm(
            code_dir=f"/{bucket}/code/",
            boot_file=f"/{bucket}/code/boot.py",
            engine=sdk.JobEngine(engine_name="Python"),
        ),
        spec=sdk.Spec(resource=sdk.SpecResource(flavor_id=WHOLE_MACHINE, node_count=1)),
    )
    created = client.create_training_job(sdk.CreateTrainingJobRequest(body=body))
    return str(created.metadata.id)


def calls_per_second(
    make_call: Callable[[], Callable[[], object]], clients: int, seconds: float
) -> float:
    """Calls per second from ``clients`` threads, each calling its own ``make_call()``
    (its own client) for ``seconds`` after one warm call; the first failure is raised."""
    done = [0] * clients
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def worker(index: int) -> None:
        try:
            call = make_call()
            call()
        except Exception as error:
            errors.append(str(error))
            barrier.abort()
            return
        barrier.wait(timeout=60)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not errors:
            try:
                call()
            except Exception as error:
                errors.append(str(error))
                return
            done[index] += 1

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"a call failed: {errors[0]}")
    return sum(done) / elapsed
