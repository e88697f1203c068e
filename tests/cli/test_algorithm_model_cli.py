"""`openarts algorithm` and `openarts model` against a real server: algorithms created from
flags and from a reference body, changed field by field and by section, deleted; models
imported from an OBS folder (waiting until published), their versions, runtimes and
deletion; and the errors a user meets on the way."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from openarts.testing.iris import train_iris
from openarts.testing.server import ServerProcess
from tests.cli.conftest import Cli
from tests.storage.conftest import admin_s3

pytestmark = pytest.mark.e2e

BUCKET = "cli-algo"
CODE = f"obs://{BUCKET}/code/"
BOOT = f"obs://{BUCKET}/code/train.py"
MODEL_DIR = f"obs://{BUCKET}/iris/model/"
PLAIN = f"python_{sys.version_info.major}.{sys.version_info.minor}"
UNKNOWN = "0" * 32


@pytest.fixture(scope="module")
def bucket(cli_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bucket with training code and an iris model folder (config.json and weights)."""
    s3 = admin_s3(cli_server)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="code/train.py", Body=b"print('training')\n")
    weights = tmp_path_factory.mktemp("iris") / "iris.joblib"
    train_iris(weights)
    config = {"model_algorithm": "predict_analysis", "model_type": "Scikit_Learn", "runtime": PLAIN}
    s3.put_object(Bucket=BUCKET, Key="iris/model/iris.joblib", Body=weights.read_bytes())
    s3.put_object(Bucket=BUCKET, Key="iris/model/config.json", Body=json.dumps(config))
    return BUCKET


def write(path: Path, data: Any) -> str:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


# -- algorithms ---------------------------------------------------------------------------


def test_an_algorithm_is_created_changed_and_deleted(cli: Cli, bucket: str, tmp_path: Path) -> None:
    printed = cli.ok(
        "algorithm",
        "create",
        "--name",
        "cli-algo-flags",
        "--code-dir",
        CODE,
        "--boot-file",
        BOOT,
        "--engine-id",
        "python-builtin",
        "--description",
        "made from flags",
        "--param",
        "epochs=3",
        "--param",
        "lr=0.01",
    )
    assert printed.startswith("created algorithm ") and "(cli-algo-flags)" in printed
    algorithm_id = printed.split()[2]

    table = cli.ok("algorithm", "list")
    assert "cli-algo-flags" in table and algorithm_id in table
    shown = cli.json("algorithm", "show", algorithm_id)
    assert shown["metadata"]["description"] == "made from flags"
    assert shown["job_config"]["boot_file"] == BOOT
    assert shown["job_config"]["engine"]["engine_id"] == "python-builtin"
    assert {p["name"]: p["value"] for p in shown["job_config"]["parameters"]} == {
        "epochs": "3",
        "lr": "0.01",
    }
    details = cli.ok("algorithm", "show", algorithm_id)
    assert "epochs=3, lr=0.01" in details and BOOT in details

    # Flags change single fields; the rest of each section stays.
    cli.ok("algorithm", "update", algorithm_id, "--description", "tuned", "--param", "epochs=5")
    shown = cli.json("algorithm", "show", algorithm_id)
    assert shown["metadata"]["name"] == "cli-algo-flags"
    assert shown["metadata"]["description"] == "tuned"
    assert shown["job_config"]["code_dir"] == CODE
    assert {p["name"]: p["value"] for p in shown["job_config"]["parameters"]} == {
        "epochs": "5",
        "lr": "0.01",
    }

    # A body section replaces the stored one; flags go over the body.
    body = {"job_config": {"command": "echo hello", "parameters": [{"name": "x", "value": "1"}]}}
    cli.ok("algorithm", "update", algorithm_id, "-f", write(tmp_path / "u.yaml", body))
    shown = cli.json("algorithm", "show", algorithm_id)
    assert shown["job_config"]["command"] == "echo hello"
    assert "boot_file" not in shown["job_config"]
    assert shown["metadata"]["description"] == "tuned"

    # A search by part of the name finds it; another name does not.
    found = cli.json("algorithm", "list", "--name", "algo-fl")["items"]
    assert [a["metadata"]["id"] for a in found] == [algorithm_id]
    assert cli.json("algorithm", "list", "--name", "nothing-like-it")["items"] == []

    assert (
        cli.ok("algorithm", "delete", algorithm_id).strip() == f"deleted algorithm {algorithm_id}"
    )
    error = cli.fails("algorithm", "show", algorithm_id)
    assert "ModelArts.2755" in error and algorithm_id in error


def test_an_algorithm_is_created_from_a_reference_body(
    cli: Cli, bucket: str, tmp_path: Path
) -> None:
    body = {
        "metadata": {"name": "cli-algo-body", "description": "from a file"},
        "job_config": {
            "code_dir": CODE,
            "boot_file": BOOT,
            "parameters": [{"name": "epochs", "value": "1"}],
            "inputs": [{"name": "data_url"}],
            "outputs": [{"name": "train_url"}],
        },
    }
    # --name and --param go over the file's values.
    created = cli.json(
        "algorithm",
        "create",
        "-f",
        write(tmp_path / "a.json", json.dumps(body)),
        "--name",
        "cli-algo-renamed",
        "--param",
        "epochs=2",
    )
    algorithm_id = created["metadata"]["id"]
    shown = cli.ok("algorithm", "show", algorithm_id)
    assert "cli-algo-renamed" in shown and "from a file" in shown
    assert "data_url" in shown and "train_url" in shown and "epochs=2" in shown
    # Changing the name through flags keeps the description.
    cli.ok("algorithm", "update", algorithm_id, "--name", "cli-algo-final")
    meta = cli.json("algorithm", "show", algorithm_id)["metadata"]
    assert (meta["name"], meta["description"]) == ("cli-algo-final", "from a file")
    # A body from stdin; a metadata-only PUT leaves the code alone.
    # A date-like value stays the text written, as JSON would carry it.
    cli.ok(
        "algorithm",
        "update",
        algorithm_id,
        "-f",
        "-",
        stdin="metadata: {name: cli-algo-stdin, description: 2024-05-01}\n",
    )
    shown = cli.json("algorithm", "show", algorithm_id)
    assert shown["metadata"]["name"] == "cli-algo-stdin"
    assert shown["metadata"]["description"] == "2024-05-01"
    assert shown["job_config"]["boot_file"] == BOOT
    cli.ok("algorithm", "delete", algorithm_id)


def test_algorithm_errors_are_clear(cli: Cli, bucket: str, tmp_path: Path) -> None:
    for command in ("show", "delete"):
        error = cli.fails("algorithm", command, UNKNOWN)
        assert "ModelArts.2755" in error and UNKNOWN in error
    error = cli.fails("algorithm", "update", UNKNOWN, "--description", "x")
    assert "ModelArts.2755" in error

    assert "metadata.name" in cli.fails("algorithm", "create", "--code-dir", CODE)
    assert "--param must be KEY=VALUE, not 'epochs'" in cli.fails(
        "algorithm", "create", "--name", "bad", "--command", "true", "--param", "epochs"
    )
    listed = write(tmp_path / "list.yaml", "- a\n- b\n")
    assert "must hold a mapping" in cli.fails("algorithm", "create", "-f", listed)
    broken = write(tmp_path / "broken.yaml", "metadata: {name: [unclosed\n")
    assert "neither YAML nor JSON" in cli.fails("algorithm", "create", "-f", broken)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("metadata: {name: caf\u00e9}\n".encode("latin-1"))
    error = cli.fails("algorithm", "create", "-f", str(latin1))
    assert "not UTF-8" in error and "Traceback" not in error
    assert "nothing to change" in cli.fails("algorithm", "update", UNKNOWN)
    # What only the server knows: the bucket and the boot file's place.
    error = cli.fails(
        "algorithm",
        "create",
        "--name",
        "bad-bucket",
        "--code-dir",
        "obs://no-such-bucket/code/",
        "--boot-file",
        "obs://no-such-bucket/code/train.py",
    )
    assert "no-such-bucket" in error and "ModelArts." in error
    error = cli.fails(
        "algorithm", "create", "--name", "bad-boot", "--code-dir", CODE, "--boot-file", "x.py"
    )
    assert "boot_file" in error
    assert "engine" in cli.fails(
        "algorithm", "create", "--name", "bad-engine", "--command", "true", "--engine-id", "nope"
    )


# -- models -------------------------------------------------------------------------------


def test_a_model_is_imported_listed_by_version_and_deleted(
    cli: Cli, bucket: str, tmp_path: Path
) -> None:
    printed = cli.ok(
        "model",
        "create",
        "--name",
        "cli-iris",
        "--version",
        "1.0.0",
        "--source-location",
        MODEL_DIR,
        "--model-type",
        "Scikit_Learn",
        "--runtime",
        PLAIN,
        "--description",
        "first",
        "--wait",
        "--timeout",
        "120",
    )
    assert "published" in printed and "cli-iris 1.0.0" in printed
    first = printed.split()[1]

    # A second version from a reference body, flags over it; not waited for.
    body = {
        "model_name": "cli-iris",
        "model_version": "0.9.0",
        "model_type": "Scikit_Learn",
        "source_location": MODEL_DIR,
    }
    created = cli.json(
        "model", "create", "-f", write(tmp_path / "m.yaml", body), "--version", "1.1.0"
    )
    second = created["model_id"]
    cli.ok(
        "model", "create", "-f", write(tmp_path / "other.yaml", {**body, "model_name": "cli-other"})
    )

    shown = cli.json("model", "show", first)
    assert shown["model_status"] == "published" and shown["runtime"] == PLAIN
    assert shown["description"] == "first"
    details = cli.ok("model", "show", first)
    assert "cli-iris" in details and "published" in details and MODEL_DIR in details

    versions = cli.json("model", "versions", "cli-iris")
    assert [m["model_version"] for m in versions["models"]] == ["1.1.0", "1.0.0"]
    table = cli.ok("model", "versions", "cli-iris")
    assert "1.1.0" in table and "cli-other" not in table
    listed = cli.json("model", "list", "--name", "cli-iris", "--version", "1.0.0")
    assert [m["model_id"] for m in listed["models"]] == [first]
    assert "cli-other" in cli.ok("model", "list")
    published = cli.json("model", "list", "--status", "published", "--name", "cli-iris")
    assert first in [m["model_id"] for m in published["models"]]

    runtimes = cli.ok("model", "runtimes")
    assert PLAIN in runtimes
    assert any(
        PLAIN in (engine.get("runtimes") or [])
        for engine in cli.json("model", "runtimes")["engine_runtimes"]
    )

    assert cli.ok("model", "delete", second).strip() == f"deleted model {second}"
    assert "ModelArts.3001" in cli.fails("model", "show", second)
    gone = cli.json("model", "delete", first, "--cascade")
    assert gone["delete_success_list"] == [first]
    assert cli.json("model", "versions", "cli-iris")["models"] == []


def test_model_errors_are_clear(cli: Cli, bucket: str, tmp_path: Path) -> None:
    error = cli.fails("model", "show", UNKNOWN)
    assert "ModelArts.3001" in error and UNKNOWN in error
    assert UNKNOWN in cli.fails("model", "delete", UNKNOWN)
    error = cli.fails("model", "create", "--name", "x")
    assert "model_version" in error and "model_type" in error and "model_name" not in error
    listed = write(tmp_path / "list.yaml", "[1, 2]\n")
    assert "must hold a mapping" in cli.fails("model", "create", "-f", listed)
    # The server's own check of a field, reported with its code.
    error = cli.fails(
        "model",
        "create",
        "--name",
        "x",
        "--version",
        "1.0",
        "--model-type",
        "PyTorch",
        "--source-location",
        MODEL_DIR,
    )
    assert "ModelArts." in error and "model_version" in error
    # A model folder that does not exist ends failed; --wait says so and exits 1.
    error = cli.fails(
        "model",
        "create",
        "--name",
        "cli-missing",
        "--version",
        "1.0.0",
        "--model-type",
        "Scikit_Learn",
        "--source-location",
        f"obs://{BUCKET}/nothing/",
        "--wait",
        "--timeout",
        "60",
    )
    assert "failed" in error
