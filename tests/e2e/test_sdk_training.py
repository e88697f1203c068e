"""Training end to end through the official SDK, against a real server process: code and data
uploaded with boto3 to the embedded object store, an algorithm, a job made from it that
trains for real, its model, log and events, the catalog, searches, termination, deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import (
    Algorithm,
    AlgorithmCreateEngine,
    AlgorithmCreateInput,
    AlgorithmCreateOutput,
    AlgorithmJobConfig,
    AlgorithmMetadata,
    ChangeTrainingJobDescriptionRequest,
    CreateAlgorithmRequest,
    CreateTrainingJobRequest,
    DeleteAlgorithmRequest,
    DeleteTrainingJobRequest,
    Filter,
    Input,
    InputDataInfo,
    InputDataInfoObs,
    Job,
    JobActionType,
    JobAlgorithm,
    JobMetadata,
    JobSearches,
    JobUpdateRequestBody,
    ListAlgorithmsRequest,
    ListTrainingJobEventsRequest,
    ListTrainingJobsRequest,
    ModelArtsClient,
    Output,
    Parameters,
    ParametersConstraint,
    Remote,
    RemoteObs,
    ShowAlgorithmByUuidRequest,
    ShowTrainingJobDetailsRequest,
    ShowTrainingJobEnginesRequest,
    ShowTrainingJobFlavorsRequest,
    ShowTrainingJobLogsPreviewRequest,
    Spec,
    SpecResource,
    StopTrainingJobRequest,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

T = TypeVar("T")

FLAVOR = "test.cpu.small"
# A training flavor small enough that several jobs run at once on a two-core machine.
FLAVORS = f"""
flavors:
  - name: {FLAVOR}
    vcpus: 0.25
    memory_gib: 0.5
    uses: [training]
"""
BUCKET = "sdk-train"

TRAIN = """
import argparse, json, os, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
parser.add_argument("--train_url")
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--sleep_s", type=float, default=0)
args, _ = parser.parse_known_args()
print("training starts with", args.epochs, "epochs", flush=True)
if args.sleep_s:
    print("sleeping", args.sleep_s, flush=True)
    time.sleep(args.sleep_s)
rows = [line.split(",") for line in open(os.path.join(args.data_url, "iris.csv")) if line.strip()]
centroids = {}
for *features, label in rows:
    total = centroids.setdefault(label.strip(), [0.0] * (len(features) + 1))
    for i, value in enumerate(features):
        total[i] += float(value)
    total[-1] += 1
model = {k: [round(v / t[-1], 3) for v in t[:-1]] for k, t in centroids.items()}
with open(os.path.join(args.train_url, "model.json"), "w") as out:
    json.dump(model, out)
print("model written with", len(model), "classes from", len(rows), "rows", flush=True)
"""
IRIS = (
    "5.1,3.5,1.4,0.2,setosa\n"
    "4.9,3.0,1.4,0.2,setosa\n"
    "7.0,3.2,4.7,1.4,versicolor\n"
    "6.4,3.2,4.5,1.5,versicolor\n"
    "6.3,3.3,6.0,2.5,virginica\n"
    "5.8,2.7,5.1,1.9,virginica\n"
)


@pytest.fixture
def training_server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    process = ServerProcess(home, env={"OPENARTS_RECONCILE_INTERVAL_S": "0.5"}).start()
    try:
        yield process
    finally:
        process.close()


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 60.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def wait_for_phase(sdk: ModelArtsClient, job_id: str, *phases: str) -> Any:
    def probe() -> Any:
        job = sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
        return job if job.status.phase in phases else None

    return until(probe, f"job {job_id} to reach {phases}")


def job_from(algorithm_id: str, name: str, **parameters: str) -> CreateTrainingJobRequest:
    return CreateTrainingJobRequest(
        body=Job(
            kind="job",
            metadata=JobMetadata(name=name, description="iris through the SDK"),
            algorithm=JobAlgorithm(
                id=algorithm_id,
                parameters=[Parameters(name=k, value=v) for k, v in parameters.items()],
                inputs=[
                    Input(
                        name="data_url",
                        remote=InputDataInfo(obs=InputDataInfoObs(obs_url=f"/{BUCKET}/data/")),
                    )
                ],
                outputs=[
                    Output(
                        name="train_url",
                        remote=Remote(obs=RemoteObs(obs_url=f"/{BUCKET}/out/{name}/")),
                    )
                ],
            ),
            spec=Spec(resource=SpecResource(flavor_id=FLAVOR, node_count=1)),
        )
    )


def test_sdk_trains_a_model_from_an_algorithm(training_server: ServerProcess) -> None:
    row = training_server.credentials()
    sdk = sdk_client(
        training_server.endpoint,
        row["Access Key Id"],
        row["Secret Access Key"],
        row["Project Id"],
    )

    # Code and data go to the embedded object store with plain S3 calls.
    s3 = admin_s3(training_server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=TRAIN.encode())
    s3.put_object(Bucket=BUCKET, Key="data/iris.csv", Body=IRIS.encode())

    # What training can run on.
    flavors = sdk.show_training_job_flavors(ShowTrainingJobFlavorsRequest(flavor_type="CPU"))
    assert flavors.total_count == 1
    [flavor] = flavors.flavors
    assert flavor.flavor_id == FLAVOR and flavor.flavor_type == "CPU"
    # Half a GiB shows in MiB; a quarter of a core as one core.
    assert (flavor.flavor_info.memory.size, flavor.flavor_info.memory.unit) == (512, "MiB")
    assert flavor.flavor_info.cpu.core_num == 1
    engines = sdk.show_training_job_engines(ShowTrainingJobEnginesRequest())
    assert engines.total == len(engines.items) >= 1
    builtin = next(e for e in engines.items if e.engine_id == "python-builtin")
    assert builtin.engine_version.startswith("python_")

    # An algorithm: the code, the engine, a guarded hyperparameter and the channels.
    created = sdk.create_algorithm(
        CreateAlgorithmRequest(
            body=Algorithm(
                metadata=AlgorithmMetadata(name="iris-centroids", description="nearest centroid"),
                job_config=AlgorithmJobConfig(
                    code_dir=f"/{BUCKET}/code/",
                    boot_file=f"/{BUCKET}/code/train.py",
                    engine=AlgorithmCreateEngine(engine_id=builtin.engine_id),
                    parameters=[
                        Parameters(
                            name="epochs",
                            value="2",
                            constraint=ParametersConstraint(
                                type="Integer",
                                editable=True,
                                required=True,
                                valid_type="Range",
                                valid_range=["1", "10"],
                            ),
                        ),
                        Parameters(name="sleep_s", value="0"),
                    ],
                    inputs=[AlgorithmCreateInput(name="data_url")],
                    outputs=[AlgorithmCreateOutput(name="train_url")],
                ),
            )
        )
    )
    algorithm_id = created.metadata.id
    assert created.metadata.name == "iris-centroids"
    with pytest.raises(ClientRequestException) as twice:
        sdk.create_algorithm(
            CreateAlgorithmRequest(
                body=Algorithm(
                    metadata=AlgorithmMetadata(name="iris-centroids"),
                    job_config=AlgorithmJobConfig(
                        code_dir=f"/{BUCKET}/code/",
                        boot_file=f"/{BUCKET}/code/train.py",
                        engine=AlgorithmCreateEngine(engine_id=builtin.engine_id),
                    ),
                )
            )
        )
    assert twice.value.error_code == "ModelArts.2752"

    listed = sdk.list_algorithms(ListAlgorithmsRequest(searches="name:centroid"))
    assert listed.total == 1
    assert [a.metadata.name for a in listed.items] == ["iris-centroids"]
    shown = sdk.show_algorithm_by_uuid(ShowAlgorithmByUuidRequest(algorithm_id=algorithm_id))
    assert shown.metadata.description == "nearest centroid"
    assert shown.job_config.boot_file == f"/{BUCKET}/code/train.py"
    assert [p.name for p in shown.job_config.parameters] == ["epochs", "sleep_s"]
    assert [i.name for i in shown.job_config.inputs] == ["data_url"]

    # A hyperparameter outside its range is refused before anything runs.
    with pytest.raises(ClientRequestException) as too_many:
        sdk.create_training_job(job_from(algorithm_id, "too-many", epochs="11"))
    assert too_many.value.status_code == 400
    assert "between 1 and 10" in too_many.value.error_msg

    # A job from the algorithm trains a model from the uploaded data.
    job = sdk.create_training_job(job_from(algorithm_id, "iris", epochs="3"))
    job_id = job.metadata.id
    assert job.metadata.name == "iris"
    assert job.status.phase in ("Creating", "Pending", "Running")
    assert job.status.tasks == ["worker-0"]
    assert job.algorithm.id == algorithm_id
    assert job.spec.resource.flavor_id == FLAVOR
    # The job runs with the algorithm's hyperparameters, overridden by its own.
    assert [(p.name, p.value) for p in job.algorithm.parameters] == [
        ("epochs", "3"),
        ("sleep_s", "0"),
    ]

    done = wait_for_phase(sdk, job_id, "Completed", "Failed")
    assert done.status.phase == "Completed", done.status
    assert done.status.secondary_phase == "Completed"
    assert done.status.duration >= 0 and done.status.start_time > 0
    [task] = done.status.task_statuses
    assert (task.task, task.exit_code) == ("worker-0", 0)

    # The model is in the output path.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/iris/")["Contents"]]
    assert keys == ["out/iris/model.json"]
    model = json.loads(s3.get_object(Bucket=BUCKET, Key="out/iris/model.json")["Body"].read())
    assert sorted(model) == ["setosa", "versicolor", "virginica"]
    assert model["setosa"] == [5.0, 3.25, 1.4, 0.2]

    # Its log and its events.
    log = sdk.show_training_job_logs_preview(
        ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0")
    )
    assert "training starts with 3 epochs" in log.content
    assert "model written with 3 classes from 6 rows" in log.content
    assert log.current_size == log.full_size == len(log.content.encode())
    events = sdk.list_training_job_events(
        ListTrainingJobEventsRequest(training_job_id=job_id, order="asc", limit=100)
    )
    messages = [e.message for e in events.events]
    assert events.total == len(messages)
    assert any(f"code from obs://{BUCKET}/code/" in m for m in messages), messages
    assert any(f"input data_url from obs://{BUCKET}/data/: 1 file(s)" in m for m in messages)
    assert any(f"output train_url to obs://{BUCKET}/out/iris/: 1 file(s)" in m for m in messages)
    assert messages[-1].startswith("[JobCompleted]"), messages

    # The description can change; nothing else does.
    sdk.change_training_job_description(
        ChangeTrainingJobDescriptionRequest(
            training_job_id=job_id, body=JobUpdateRequestBody(description="centroids v1")
        )
    )
    described = sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
    assert described.metadata.description == "centroids v1"
    assert described.status.phase == "Completed"

    # A second, long job runs until it is terminated.
    slow = sdk.create_training_job(job_from(algorithm_id, "iris-slow", sleep_s="600"))
    slow_id = slow.metadata.id
    wait_for_phase(sdk, slow_id, "Running")

    def slow_log() -> str | None:
        content: str = sdk.show_training_job_logs_preview(
            ShowTrainingJobLogsPreviewRequest(training_job_id=slow_id, task_id="worker-0")
        ).content
        return content if "sleeping 600" in content else None

    # Without an epochs of its own, the job runs with the algorithm's default of 2.
    assert "training starts with 2 epochs" in until(slow_log, "the slow job to start sleeping")
    sdk.stop_training_job(
        StopTrainingJobRequest(training_job_id=slow_id, body=JobActionType(action_type="terminate"))
    )
    stopped = wait_for_phase(sdk, slow_id, "Terminated", "Completed", "Failed")
    assert stopped.status.phase == "Terminated"
    with pytest.raises(ClientRequestException) as again:
        sdk.stop_training_job(
            StopTrainingJobRequest(
                training_job_id=slow_id, body=JobActionType(action_type="terminate")
            )
        )
    assert "already ended" in again.value.error_msg

    # Searching finds the jobs by name, in order; paging counts all of them.
    search = sdk.list_training_jobs(
        ListTrainingJobsRequest(
            body=JobSearches(
                limit=1,
                offset=0,
                sort_by="create_time",
                order="asc",
                filters=[Filter(key="name", operator="like", value=["iris"])],
            )
        )
    )
    assert (search.total, search.count) == (2, 1)
    assert [j.metadata.name for j in search.items] == ["iris"]
    everything = sdk.list_training_jobs(ListTrainingJobsRequest(body=JobSearches(order="asc")))
    assert [(j.metadata.name, j.status.phase) for j in everything.items] == [
        ("iris", "Completed"),
        ("iris-slow", "Terminated"),
    ]
    # A request with no body at all (what ListTrainingJobsRequest() sends) lists with the
    # defaults: newest first.
    bare = sdk.list_training_jobs(ListTrainingJobsRequest())
    assert [j.metadata.name for j in bare.items] == ["iris-slow", "iris"]

    # Deleting the jobs, then the algorithm they used.
    for gone_id in (job_id, slow_id):
        sdk.delete_training_job(DeleteTrainingJobRequest(training_job_id=gone_id))

    def jobs_left() -> int | None:
        total: int = sdk.list_training_jobs(ListTrainingJobsRequest(body=JobSearches())).total
        return None if total else -1

    until(jobs_left, "the jobs to be deleted")
    with pytest.raises(ClientRequestException) as missing:
        sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
    # The reference answers a missing training job with 400, not 404.
    assert (missing.value.status_code, missing.value.error_code) == (400, "ModelArts.2775")
    sdk.delete_algorithm(DeleteAlgorithmRequest(algorithm_id=algorithm_id))
    assert sdk.list_algorithms(ListAlgorithmsRequest()).total == 0
    # The model outlives the job that made it.
    assert s3.get_object(Bucket=BUCKET, Key="out/iris/model.json")["ContentLength"] > 0
