"""The API reference's PyTorch use case ("Using PyTorch to Create a Training Job"), through
the official SDK against a real server: the engine chosen by ModelArts' own name and
version from the engine list, the algorithm and the job made with the use case's bodies
(its bucket and paths, its hyperparameters dist and world_size), and training code as
ModelArts users write it: torch, torchvision and numpy, data from ``--data_url``, the
model to ``--train_url``, on the use case's flavor, modelarts.vm.cpu.8u, chosen from the
flavor list as its step 1 does (on a smaller host it runs capped at the host, saying so).
Only the endpoint and the credentials differ; the data is made here.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkmodelarts.v1 import (
    Algorithm,
    AlgorithmCreateEngine,
    AlgorithmCreateInput,
    AlgorithmCreateOutput,
    AlgorithmJobConfig,
    AlgorithmMetadata,
    CreateAlgorithmRequest,
    CreateTrainingJobRequest,
    Input,
    InputDataInfo,
    InputDataInfoObs,
    Job,
    JobAlgorithm,
    JobMetadata,
    ListTrainingJobEventsRequest,
    Output,
    Parameters,
    ParametersConstraint,
    Remote,
    RemoteObs,
    ShowTrainingJobDetailsRequest,
    ShowTrainingJobEnginesRequest,
    ShowTrainingJobFlavorsRequest,
    ShowTrainingJobLogsPreviewRequest,
    Spec,
    SpecResource,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client
from tests.e2e.test_sdk_training import until
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

ENGINE_NAME = "PyTorch"
ENGINE_VERSION = "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64"
BUCKET = "cnnorth4-job-test-v2"
CODE = "/cnnorth4-job-test-v2/pytorch/fast_example/code/cpu/"
FLAVOR = "modelarts.vm.cpu.8u"
# test-pytorch.py: a small classifier of 8x8 images, as a ModelArts user writes one.
TRAIN = """
import argparse, os
import numpy as np
import torch
from torch import nn
try:
    import torchvision
    from torchvision import transforms
    print("torchvision", torchvision.__version__)
except Exception as error:  # said by the test: this machine may have no CPU build of it
    transforms = None
    print("no torchvision:", type(error).__name__, error)

parser = argparse.ArgumentParser()
parser.add_argument("--data_url", type=str)
parser.add_argument("--train_url", type=str)
parser.add_argument("--dist", type=str, default="False")
parser.add_argument("--world_size", type=int, default=1)
args, unknown = parser.parse_known_args()
print("torch", torch.__version__, "numpy", np.__version__)
print("dist", args.dist, "world_size", args.world_size, "cuda", torch.cuda.is_available())

data = np.load(os.path.join(args.data_url, "digits.npz"))
images = torch.from_numpy(data["images"]).float().unsqueeze(1) / 255.0
images = transforms.Normalize(mean=[0.5], std=[0.5])(images) if transforms else images - 0.5
labels = torch.from_numpy(data["labels"]).long()
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for epoch in range(60):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
accuracy = (model(images).argmax(1) == labels).float().mean().item()
print(f"epoch {epoch} loss {loss.item():.4f} accuracy {accuracy:.3f}", flush=True)
torch.save(model.state_dict(), os.path.join(args.train_url, "model.pth"))
"""


def digits() -> bytes:
    """Two classes of 8x8 images: a bright left half, or a bright right half."""
    import numpy as np

    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, size=(64, 8, 8)).astype(np.uint8)
    labels = np.arange(64) % 2
    images[labels == 0, :, :4] += 180
    images[labels == 1, :, 4:] += 180
    out = io.BytesIO()
    np.savez(out, images=images, labels=labels)
    return out.getvalue()


@pytest.fixture
def server(tmp_path: Path, engine_cache: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_ENGINE_CACHE": str(engine_cache)}
    process = ServerProcess(home, env=env).start()
    try:
        yield process
    finally:
        process.close()


def test_the_references_pytorch_use_case_trains_with_torchvision(server: ServerProcess) -> None:
    row = server.credentials()
    sdk = sdk_client(
        server.endpoint, row["Access Key Id"], row["Secret Access Key"], row["Project Id"]
    )
    s3 = admin_s3(server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=CODE[len(BUCKET) + 2 :] + "test-pytorch.py", Body=TRAIN)
    s3.put_object(Bucket=BUCKET, Key="pytorch/fast_example/data/digits.npz", Body=digits())

    # 1. A flavor; 2. the engine, by engine_name and engine_version, from the list.
    flavors = sdk.show_training_job_flavors(ShowTrainingJobFlavorsRequest(flavor_type="CPU"))
    flavor_id = next(f.flavor_id for f in flavors.flavors if f.flavor_id == FLAVOR)
    engines = sdk.show_training_job_engines(ShowTrainingJobEnginesRequest()).items
    listed = next(
        e for e in engines if e.engine_name == ENGINE_NAME and e.engine_version == ENGINE_VERSION
    )
    assert listed.engine_id == ENGINE_VERSION

    # 3. The algorithm, as the use case makes it.
    boolean = ParametersConstraint(
        type="Boolean", editable=True, required=False, sensitive=False, valid_type="None"
    )
    integer = ParametersConstraint(
        type="Integer", editable=True, required=False, sensitive=False, valid_type="None"
    )
    algorithm = sdk.create_algorithm(
        CreateAlgorithmRequest(
            body=Algorithm(
                metadata=AlgorithmMetadata(
                    name="test-pytorch-cpu", description="test pytorch job in cpu in mode gloo"
                ),
                job_config=AlgorithmJobConfig(
                    boot_file=CODE + "test-pytorch.py",
                    code_dir=CODE,
                    engine=AlgorithmCreateEngine(
                        engine_name=ENGINE_NAME, engine_version=ENGINE_VERSION
                    ),
                    inputs=[AlgorithmCreateInput(name="data_url", description="Data source 1")],
                    outputs=[AlgorithmCreateOutput(name="train_url", description="Output data 1")],
                    parameters=[
                        Parameters(name="dist", description="", value="False", constraint=boolean),
                        Parameters(
                            name="world_size", description="", value="1", constraint=integer
                        ),
                    ],
                    parameters_customization=True,
                ),
            )
        )
    )

    # 5. The job from it.
    created = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(
                    name="test-pytorch-cpu01", description="test pytorch work cpu in mode gloo"
                ),
                algorithm=JobAlgorithm(
                    id=algorithm.metadata.id,
                    parameters=[
                        Parameters(name="dist", value="False"),
                        Parameters(name="world_size", value="1"),
                    ],
                    inputs=[
                        Input(
                            name="data_url",
                            remote=InputDataInfo(
                                obs=InputDataInfoObs(
                                    obs_url="/cnnorth4-job-test-v2/pytorch/fast_example/data/"
                                )
                            ),
                        )
                    ],
                    outputs=[
                        Output(
                            name="train_url",
                            remote=Remote(
                                obs=RemoteObs(
                                    obs_url="/cnnorth4-job-test-v2/pytorch/fast_example/outputs/"
                                )
                            ),
                        )
                    ],
                ),
                spec=Spec(resource=SpecResource(flavor_id=flavor_id, node_count=1)),
            )
        )
    )
    job_id = created.metadata.id
    assert created.algorithm.engine.engine_version == ENGINE_VERSION
    # Where the code finds its channels: ModelArts' own paths, as the use case shows them.
    assert created.algorithm.inputs[0].local_dir == "/home/ma-user/modelarts/inputs/data_url_0"
    assert created.algorithm.outputs[0].local_dir == "/home/ma-user/modelarts/outputs/train_url_0"

    # 6. Its status until it ends (the engine's environment is made on first use).
    def ended() -> Any:
        job = sdk.show_training_job_details(ShowTrainingJobDetailsRequest(training_job_id=job_id))
        return job if job.status.phase in ("Completed", "Failed", "Abnormal") else None

    job = until(ended, f"job {job_id} to end", timeout_s=600)
    log = sdk.show_training_job_logs_preview(
        ShowTrainingJobLogsPreviewRequest(training_job_id=job_id, task_id="worker-0")
    ).content
    print(log)
    assert job.status.phase == "Completed", job.status
    assert "torch 2.13.0" in log and "numpy 2." in log
    assert "dist False world_size 1" in log
    accuracy = float(log.split("accuracy ")[1].split()[0])
    assert accuracy > 0.9
    model = s3.get_object(Bucket=BUCKET, Key="pytorch/fast_example/outputs/model.pth")
    assert len(model["Body"].read()) > 1000

    # The job says what ran it.
    events = sdk.list_training_job_events(ListTrainingJobEventsRequest(training_job_id=job_id))
    messages = [str(e) for e in events.events or []]
    assert any(f"{ENGINE_VERSION} runs here as PyTorch 2.13.0 (CPU)" in m for m in messages)
    if (os.cpu_count() or 1) < 8:
        assert any("each task runs capped at" in m for m in messages), messages
    # torchvision is there, the CPU build that matches torch; or, where PyTorch's CPU
    # index cannot be reached (this machine has no Internet), the job said why not.
    if "no torchvision" in log:
        said = [m for m in messages if "has no torchvision==0.28.0+cpu" in m]
        print(said)
        assert said, messages
        pytest.skip(f"torchvision has no CPU build reachable here: {said[0]}")
    assert "torchvision 0.28.0+cpu" in log
