"""``moxing`` in a training job, as ModelArts scripts use it: ``mox.file`` over obs://
paths in the platform's store (with the job's own credential, in its sandbox) and over
local paths, ``shift('os', 'mox')``; another project's bucket is refused."""

from __future__ import annotations

import json
import os

import pytest
from huaweicloudsdkmodelarts.v1 import (
    CreateTrainingJobRequest,
    Job,
    JobAlgorithm,
    JobEngine,
    JobMetadata,
    Parameters,
    ShowTrainingJobLogsPreviewRequest,
    Spec,
    SpecResource,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client
from tests.e2e.test_sdk_training import FLAVOR, training_server, wait_for_phase
from tests.sandbox.test_a_notebook_sees_only_its_own import mallory_beside_a_victim
from tests.storage.conftest import s3_client

__all__ = ["training_server"]  # the fixture, shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the job's own credential needs the sandbox"),
]

IRIS = "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"
BUCKET = "mallory-data"

SCRIPT = r"""
import argparse, json, os
import moxing as mox

parser = argparse.ArgumentParser()
parser.add_argument("--obs_data")
parser.add_argument("--obs_out")
args, _ = parser.parse_known_args()
seen = {}
# The published pattern: the data to a local folder, in parallel.
local = "/cache/data"
mox.file.copy_parallel(args.obs_data, local)
seen["local"] = sorted(os.listdir(local))
seen["rows"] = len(open(os.path.join(local, "iris.csv")).read().splitlines())
seen["exists"] = [mox.file.exists(args.obs_data), mox.file.exists(args.obs_data + "nothing")]
seen["is_directory"] = [mox.file.is_directory(args.obs_data),
                        mox.file.is_directory(args.obs_data + "iris.csv")]
seen["listed"] = mox.file.list_directory(args.obs_data)
seen["recursive"] = mox.file.list_directory(args.obs_data.rsplit("/data/", 1)[0] + "/",
                                            recursive=True)
seen["size"] = mox.file.get_size(args.obs_data + "iris.csv")
seen["stat"] = [mox.file.stat(args.obs_data + "iris.csv").length,
                mox.file.stat(args.obs_data).is_dir]
# Outputs straight to the store.
out = args.obs_out
mox.file.make_dirs(out + "models")
mox.file.write(out + "models/summary.txt", "3 classes\n")
with mox.file.File(out + "models/weights.bin", "wb") as handle:
    handle.write(bytes(range(10)))
mox.file.copy(os.path.join(local, "iris.csv"), out + "copied.csv")
mox.file.copy(out + "copied.csv", out + "copied-again.csv")
mox.file.rename(out + "copied-again.csv", out + "renamed.csv")
seen["glob"] = mox.file.glob(out + "*.csv")
seen["read"] = mox.file.read(out + "models/summary.txt")
seen["binary"] = list(mox.file.read(out + "models/weights.bin", binary=True))
mox.file.write(out + "gone/a.txt", "a")
mox.file.write(out + "gone/b.txt", "b")
mox.file.remove(out + "gone", recursive=True)
seen["gone"] = mox.file.exists(out + "gone/a.txt")
# shift: the standard functions take obs:// paths too.
mox.file.shift("os", "mox")
with open(out + "shifted.txt", "w") as handle:
    handle.write("through open")
seen["shifted"] = [os.path.exists(out + "shifted.txt"), open(out + "shifted.txt").read()]
mox.file.shift("mox", "os")
# Another project's bucket: refused by the store.
try:
    mox.file.read("obs://victim-data/secret.txt")
    seen["foreign"] = "read"
except Exception as error:
    seen["foreign"] = type(error).__name__
print("moxing saw:", json.dumps(seen), flush=True)
"""


def test_moxing_round_trip_in_a_training_job(training_server: ServerProcess) -> None:
    server = training_server
    project_id, ak, sk = mallory_beside_a_victim(server)
    s3 = s3_client(server.obs_endpoint, ak, sk)
    s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=SCRIPT.encode())
    s3.put_object(Bucket=BUCKET, Key="data/iris.csv", Body=IRIS.encode())
    s3.put_object(Bucket=BUCKET, Key="data/more/notes.txt", Body=b"x")
    sdk = sdk_client(server.endpoint, ak, sk, project_id)
    created = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(name="mox"),
                algorithm=JobAlgorithm(
                    code_dir=f"/{BUCKET}/code/",
                    boot_file=f"/{BUCKET}/code/train.py",
                    engine=JobEngine(engine_id="python-builtin"),
                    parameters=[
                        Parameters(name="obs_data", value=f"obs://{BUCKET}/data/"),
                        Parameters(name="obs_out", value=f"obs://{BUCKET}/mox-out/"),
                    ],
                ),
                spec=Spec(resource=SpecResource(flavor_id=FLAVOR, node_count=1)),
            )
        )
    )
    job = wait_for_phase(sdk, created.metadata.id, "Completed", "Failed")
    log = sdk.show_training_job_logs_preview(
        ShowTrainingJobLogsPreviewRequest(training_job_id=created.metadata.id, task_id="worker-0")
    ).content
    print(log)
    assert job.status.phase == "Completed", job.status
    seen = json.loads(log.split("moxing saw: ")[1].splitlines()[0])
    assert seen["local"] == ["iris.csv", "more"]
    assert seen["rows"] == 3
    assert seen["exists"] == [True, False]
    assert seen["is_directory"] == [True, False]
    assert seen["listed"] == ["iris.csv", "more"]
    assert "data/iris.csv" in seen["recursive"] and "data/more/notes.txt" in seen["recursive"]
    assert seen["size"] == len(IRIS) and seen["stat"] == [len(IRIS), True]
    out = f"obs://{BUCKET}/mox-out/"
    assert seen["glob"] == [out + "copied.csv", out + "renamed.csv"]
    assert seen["read"] == "3 classes\n"
    assert seen["binary"] == list(range(10))
    assert seen["gone"] is False
    assert seen["shifted"] == [True, "through open"]
    assert seen["foreign"] == "PermissionError"
    assert s3.get_object(Bucket=BUCKET, Key="mox-out/renamed.csv")["Body"].read() == IRIS.encode()
    weights = s3.get_object(Bucket=BUCKET, Key="mox-out/models/weights.bin")["Body"].read()
    assert weights == bytes(range(10))
