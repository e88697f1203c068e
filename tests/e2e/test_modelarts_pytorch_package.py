"""ModelArts' PyTorch custom-script example (an MNIST classifier on
``PTServingBaseService``, reading the ``images`` field of a multipart request with PIL),
against a real server: the weights trained by a job on ModelArts' PyTorch engine, which
leaves the model package in its output as ModelArts users write it; imported with
ModelArts' runtime name, deployed, and called as the documentation calls it
(``curl -F images=@seven.png``).

One change to the published script: where this machine's PyTorch engine has no
torchvision (PyTorch's CPU index is out of reach here: the engine says so in its
events), its two transforms (Resize to 28x28, ToTensor) are done with PIL and NumPy,
which is what they do.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from openarts.testing.server import ServerProcess
from tests.e2e.test_modelarts_model_packages import deploy, import_model, put, train
from tests.storage.conftest import admin_s3

from .conftest import signed_call

pytestmark = pytest.mark.e2e

BUCKET = "modelarts-examples"
FLAVORS = """
flavors:
  - name: test.infer.small
    vcpus: 0.25
    memory_gib: 0.5
    uses: [inference]
  - name: test.train.torch
    vcpus: 1
    memory_gib: 2
    uses: [training]
"""

SERVICE = """from PIL import Image
import log
from model_service.pytorch_model_service import PTServingBaseService
import torch.nn.functional as F
import torch.nn as nn
import torch
import json
import numpy as np

logger = log.getLogger(__name__)

try:
    import torchvision.transforms as transforms

    # Define model preprocessing.
    infer_transformation = transforms.Compose([
        transforms.Resize((28, 28)),
        # Transform to a PyTorch tensor.
        transforms.ToTensor()
    ])
except ImportError:  # no torchvision in this engine: the same two steps
    def infer_transformation(image):
        image = image.resize((28, 28))
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).unsqueeze(0)

import os


class PTVisionService(PTServingBaseService):

    def __init__(self, model_name, model_path):
        # Call the constructor of the parent class.
        super(PTVisionService, self).__init__(model_name, model_path)
        # Call the customized function to load the model.
        self.model = Mnist(model_path)
        # Load tags.
        self.label = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
        # Labels can also be loaded by label file.
        dir_path = os.path.dirname(os.path.realpath(self.model_path))
        with open(os.path.join(dir_path, 'label.json')) as f:
            self.label = json.load(f)

    def _preprocess(self, data):
        preprocessed_data = {}
        for k, v in data.items():
            input_batch = []
            for file_name, file_content in v.items():
                with Image.open(file_content) as image1:
                    # Gray processing
                    image1 = image1.convert("L")
                    if torch.cuda.is_available():
                        input_batch.append(infer_transformation(image1).cuda())
                    else:
                        input_batch.append(infer_transformation(image1))
            input_batch_var = torch.autograd.Variable(torch.stack(input_batch, dim=0), volatile=True)
            print(input_batch_var.shape)
            preprocessed_data[k] = input_batch_var
        return preprocessed_data

    def _postprocess(self, data):
        results = []
        for k, v in data.items():
            result = torch.argmax(v[0])
            result = {k: self.label[result]}
            results.append(result)
        return results

    def _inference(self, data):
        result = {}
        for k, v in data.items():
            result[k] = self.model(v)
        return result


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.hidden1 = nn.Linear(784, 5120, bias=False)
        self.output = nn.Linear(5120, 10, bias=False)

    def forward(self, x):
        x = x.view(x.size()[0], -1)
        x = F.relu((self.hidden1(x)))
        x = F.dropout(x, 0.2)
        x = self.output(x)
        return F.log_softmax(x)


def Mnist(model_path, **kwargs):
    # Generate a network.
    model = Net()
    # Load the model.
    if torch.cuda.is_available():
        device = torch.device('cuda')
        model.load_state_dict(torch.load(model_path, map_location="cuda:0"))
    else:
        device = torch.device('cpu')
        model.load_state_dict(torch.load(model_path, map_location=device))
    # CPU or GPU mapping
    model.to(device)
    # Turn the model to inference mode.
    model.eval()
    return model
"""

# Trains the example's network on two kinds of 28x28 images (a bright upper half is a
# "1", a bright lower half a "7"), and leaves the package beside the weights.
TRAIN = """
import argparse, os, shutil
import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--train_url")
args, _ = parser.parse_known_args()
here = os.path.dirname(os.path.abspath(__file__))


class Net(torch.nn.Module):  # the example's network
    def __init__(self):
        super().__init__()
        self.hidden1 = torch.nn.Linear(784, 5120, bias=False)
        self.output = torch.nn.Linear(5120, 10, bias=False)

    def forward(self, x):
        x = x.view(x.size()[0], -1)
        return F.log_softmax(self.output(F.relu(self.hidden1(x))), dim=1)


torch.manual_seed(0)
images = torch.rand(64, 1, 28, 28) * 0.2
labels = torch.tensor([1 if i % 2 else 7 for i in range(64)])
images[labels == 1, :, :14, :] += 0.8
images[labels == 7, :, 14:, :] += 0.8
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(30):
    optimizer.zero_grad()
    loss = F.nll_loss(model(images), labels)
    loss.backward()
    optimizer.step()
print("loss", float(loss), flush=True)
out = os.path.join(args.train_url, "model")
os.makedirs(out, exist_ok=True)
torch.save(model.state_dict(), os.path.join(out, "mnist_mlp.pt"))
for name in ("config.json", "customize_service.py", "label.json"):
    shutil.copy(os.path.join(here, "package", name), os.path.join(out, name))
"""

CONFIG = {
    "model_type": "PyTorch",
    "model_algorithm": "image_classification",
    "runtime": "pytorch_1.8.0-cuda_10.2-py_3.7.11-ubuntu_18.04-x86_64",
    "apis": [
        {
            "protocol": "https",
            "url": "/",
            "method": "post",
            "request": {
                "Content-type": "multipart/form-data",
                "data": {"type": "object", "properties": {"images": {"type": "file"}}},
            },
            "response": {
                "Content-type": "applicaton/json",
                "data": {"type": "object", "properties": {"mnist_result": {"type": "array"}}},
            },
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [{"restraint": "", "package_version": "", "package_name": "Pillow"}],
        }
    ],
}


def png(upper: int, lower: int) -> bytes:
    """A 28x28 grey PNG, its upper and lower halves of the shades given."""
    rows = [bytes([upper if y < 14 else lower]) * 28 for y in range(28)]
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def server(tmp_path: Path, engine_cache: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "flavors.yaml").write_text(FLAVORS)
    env = {"OPENARTS_RECONCILE_INTERVAL_S": "0.5", "OPENARTS_ENGINE_CACHE": str(engine_cache)}
    process = ServerProcess(home, env=env).start()
    try:
        admin_s3(process).create_bucket(Bucket=BUCKET)
        yield process
    finally:
        process.close()


def test_the_pytorch_image_classification_example_answers_a_multipart_image(
    server: ServerProcess,
) -> None:
    put(server, "mnist-code/train.py", TRAIN)
    put(server, "mnist-code/package/customize_service.py", SERVICE)
    put(server, "mnist-code/package/config.json", json.dumps(CONFIG))
    put(server, "mnist-code/package/label.json", json.dumps(list(range(10))))
    job = {
        "kind": "job",
        "metadata": {"name": "mnist"},
        "algorithm": {
            "code_dir": f"/{BUCKET}/mnist-code/",
            "boot_file": f"/{BUCKET}/mnist-code/train.py",
            "engine": {
                "engine_name": "PyTorch",
                "engine_version": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
            },
            "outputs": [
                {"name": "train_url", "remote": {"obs": {"obs_url": f"/{BUCKET}/mnist-out/"}}}
            ],
        },
        "spec": {"resource": {"flavor_id": "test.train.torch", "node_count": 1}},
    }
    job_id = train(server, job, timeout_s=600)
    model = import_model(
        server,
        {
            "model_name": "mnist",
            "model_version": "0.0.1",
            "model_type": "PyTorch",
            "runtime": CONFIG["runtime"],
            "source_location": f"obs://{BUCKET}/mnist-out/model/",
            "source_job_id": job_id,
        },
    )
    assert model["runtime"].startswith("pytorch_2.13.0"), model
    service_id = deploy(server, model["model_id"])
    for upper, lower, digit in ((255, 0, 1), (0, 255, 7)):
        answer = signed_call(
            server,
            "POST",
            f"/v1/infers/{service_id}/",
            files={"images": ("seven.png", png(upper, lower), "image/png")},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == [{"images": digit}], answer.text
