"""The API beside an emulator: training-job create, show and list-100 calls per second.

OpenArts is called through the official SDK (huaweicloudsdkmodelarts); moto's SageMaker
server, the anchor, through boto3 doing the same (create_training_job,
describe_training_job, list_training_jobs of 100 jobs: one page for moto, two of 50 for
OpenArts, whose reference caps a page at 50), both servers in processes of
their own on loopback, in the same run. Each figure is taken at 1 and at 8 client
threads (each with its own client), --seconds per figure at most, in --rounds rounds that
alternate the two. OpenArts' jobs queue behind one that holds the machine (the public
pool at one vCPU per core, a flavor of every core), so what runs costs nothing here.

Prints calls/s of each and the ratio (the aim: at least 3x), and beside them the SDK's
own ceiling: the same calls against ``SdkCeiling``, a server that replays an answer
OpenArts gave to the first call of each kind and checks nothing. Where three times moto
is above that ceiling, no server can meet the aim through this SDK on this machine.

    python benchmarks/api_vs_moto.py [--seconds 5] [--rounds 2] [--prefill 200]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import httpx
import huaweicloudsdkmodelarts.v1.model as sdk
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

from openarts.storage.s3 import s3_client
from openarts.testing.bench_sdk import (
    SLEEPER,
    WHOLE_MACHINE_FLAVORS,
    calls_per_second,
    create_waiting_job,
    sdk_client,
)
from openarts.testing.bench_summary import summary
from openarts.testing.server import ServerProcess, free_port, reap_tasks

BUCKET = "moto-bench"
CLIENTS = (1, 8)
OPERATIONS = ("create", "show", "list-100")
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/bench"


class OpenArts:
    name = "OpenArts (SDK)"

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.row = server.credentials()
        self.some_id = ""

    def client(self) -> ModelArtsClient:
        return sdk_client(self.server)

    def create(self, client: ModelArtsClient, name: str) -> str:
        return create_waiting_job(client, name, BUCKET)

    def show(self, client: ModelArtsClient) -> None:
        client.show_training_job_details(
            sdk.ShowTrainingJobDetailsRequest(training_job_id=self.some_id)
        )

    def list100(self, client: ModelArtsClient) -> None:
        # The reference caps a page at 50: a hundred jobs are two pages.
        for offset in (0, 50):
            client.list_training_jobs(
                sdk.ListTrainingJobsRequest(body=sdk.JobSearches(limit=50, offset=offset))
            )


class Moto:
    name = "moto SageMaker (boto3)"

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.some_id = ""

    def client(self) -> Any:
        return boto3.client(
            "sagemaker",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def create(self, client: Any, name: str) -> str:
        client.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": "bench:latest", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out/"},
            ResourceConfig={
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        return name

    def show(self, client: Any) -> None:
        client.describe_training_job(TrainingJobName=self.some_id)

    def list100(self, client: Any) -> None:
        client.list_training_jobs(MaxResults=100)


class SdkCeiling(http.server.BaseHTTPRequestHandler):
    """The least an API server can do, to show what the SDK itself reaches here: the
    first request of each kind (method, path, and body but for a create's) goes to
    OpenArts with its headers as signed; its answer is replayed to every later one.
    Not a server: an instrument."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, each answer waits for the
    # client's delayed ACK (40 ms).
    disable_nagle_algorithm = True
    upstream: str
    answers: ClassVar[dict[tuple[str, str, bytes], tuple[int, bytes]]] = {}
    lock = threading.Lock()

    def log_message(self, *_: Any) -> None:
        pass

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # Creates differ only by name: one answer serves them all.
        is_create = self.command == "POST" and self.path.endswith("/training-jobs")
        key = (self.command, self.path, b"" if is_create else body)
        with self.lock:
            known = self.answers.get(key)
        if known is None:
            headers = {name: value for name, value in self.headers.items()}
            forwarded = httpx.request(
                self.command, self.upstream + self.path, headers=headers, content=body
            )
            known = (forwarded.status_code, forwarded.content)
            with self.lock:
                self.answers[key] = known
        status, content = known
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _answer


@contextlib.contextmanager
def sdk_ceiling(upstream: str) -> Iterator[str]:
    handler = type("Ceiling", (SdkCeiling,), {"upstream": upstream, "answers": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Ceiling(OpenArts):
    name = "SDK ceiling"

    def __init__(self, server: ServerProcess, endpoint: str, some_id: str) -> None:
        super().__init__(server)
        self.endpoint = endpoint
        self.some_id = some_id

    def client(self) -> ModelArtsClient:
        return sdk_client(self.server, endpoint=self.endpoint)


System = OpenArts | Moto
_names = itertools.count()


def call_of(system: System, operation: str, client: Any) -> Callable[[], object]:
    if operation == "create":
        return lambda: system.create(client, f"bench-{next(_names)}")
    if operation == "show":
        return lambda: system.show(client)
    return lambda: system.list100(client)


def rate(system: System, operation: str, clients: int, seconds: float) -> float:
    """Calls per second from ``clients`` threads, each with its own client."""
    return calls_per_second(lambda: call_of(system, operation, system.client()), clients, seconds)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code < 500:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto's server did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prefill", type=int, default=200, help="jobs in each before reads")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        moto_server() as moto_endpoint,
        contextlib.ExitStack() as stack,
    ):
        home = Path(folder) / "home"
        home.mkdir()
        (home / "flavors.yaml").write_text(WHOLE_MACHINE_FLAVORS)
        env = {"OPENARTS_LOG_LEVEL": "warning", "OPENARTS_PUBLIC_CPU_SHARE": "1"}
        server = ServerProcess(home, env=env).start(timeout_s=60)
        try:
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="code/boot.py", Body=SLEEPER)
            systems: list[System] = [OpenArts(server), Moto(moto_endpoint)]
            for system in systems:
                client = system.client()
                ids = [system.create(client, f"prefill-{n}") for n in range(args.prefill)]
                system.some_id = ids[len(ids) // 2]
            ceiling_endpoint = stack.enter_context(sdk_ceiling(server.endpoint))
            systems.append(Ceiling(server, ceiling_endpoint, systems[0].some_id))
            results: dict[tuple[str, str, int], list[float]] = {}
            for _ in range(args.rounds):
                for operation, clients in itertools.product(OPERATIONS, CLIENTS):
                    for system in systems:
                        key = (system.name, operation, clients)
                        measured = rate(system, operation, clients, args.seconds)
                        results.setdefault(key, []).append(measured)
            print("training-job calls per second, OpenArts through the official SDK beside")
            print("moto's SageMaker server through boto3 (median of the rounds; aim: >= 3x),")
            print("and the SDK against a server that only replays answers (its ceiling here)")
            print(
                f"{'call':10} {'clients':>7} {'OpenArts/s':>11} {'moto/s':>9} {'ratio':>7}"
                f" {'ceiling/s':>10} {'3x moto':>8}"
            )
            for operation, clients in itertools.product(OPERATIONS, CLIENTS):
                ours, theirs, ceiling = (
                    statistics.median(results[(system.name, operation, clients)])
                    for system in systems
                )
                print(
                    f"{operation:10} {clients:7} {ours:11.0f} {theirs:9.0f} {ours / theirs:6.2f}x"
                    f" {ceiling:10.0f} {3 * theirs:8.0f}"
                    + ("  (above the SDK's ceiling)" if 3 * theirs > ceiling else "")
                )
                summary(
                    f"{operation} calls/s, {clients} client(s)",
                    f"{ours:.0f}/s",
                    f"moto {theirs:.0f}/s (SDK ceiling {ceiling:.0f}/s)",
                    ours / theirs,
                    ">= 3x",
                )
        finally:
            server.stop()
            reap_tasks(home)


if __name__ == "__main__":
    main()
