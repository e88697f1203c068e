"""How long a person waits for one `openarts` command, beside the same question asked
with the official SDK from a fresh Python process (what a script doing one call pays).

One running server; both list training jobs, interleaved, N times each. Prints the median
and the slowest of each and their difference (aim: the CLI within 0.5 s of the SDK).

    python benchmarks/cli_latency.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openarts.testing.server import ServerProcess

SDK_CALL = """
import sys
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkmodelarts.v1 import JobSearches, ListTrainingJobsRequest, ModelArtsClient

endpoint, ak, sk, project = sys.argv[1:5]
client = (
    ModelArtsClient.new_builder()
    .with_credentials(BasicCredentials(ak, sk, project))
    .with_endpoint(endpoint)
    .build()
)
client.list_training_jobs(ListTrainingJobsRequest(body=JobSearches(limit=50)))
"""


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(Path(root) / "home").start()
        try:
            row = server.credentials()
            env = {**os.environ, "OPENARTS_HOME": str(server.home)}
            env["OPENARTS_CONFIG"] = str(Path(root) / "config.yaml")
            cli = [sys.executable, "-m", "openarts", "-o", "json", "job", "list"]
            sdk = [
                sys.executable,
                "-c",
                SDK_CALL,
                server.endpoint,
                row["Access Key Id"],
                row["Secret Access Key"],
                row["Project Id"],
            ]
            timings: dict[str, list[float]] = {"openarts job list": [], "SDK, fresh process": []}
            for _ in range(runs):
                timings["openarts job list"].append(_timed(cli, env))
                timings["SDK, fresh process"].append(_timed(sdk, env))
        finally:
            server.close()
    print(f"one command, {runs} runs each (seconds)")
    for name, values in timings.items():
        print(f"  {name:<20} median {statistics.median(values):.2f}  slowest {max(values):.2f}")
    gap = statistics.median(timings["openarts job list"]) - statistics.median(
        timings["SDK, fresh process"]
    )
    verdict = "met" if gap < 0.5 else "not met"
    print(f"  CLI minus SDK at the median: {gap:+.2f} s (aim < 0.5 s: {verdict})")


if __name__ == "__main__":
    main()
