"""Training job wire shapes against the reference's examples and the SDK's key names."""

from __future__ import annotations

import copy
from typing import Any

import huaweicloudsdkmodelarts.v1.model as sdk
import pytest
from huaweicloudsdkcore.client import Client
from huaweicloudsdkcore.utils.http_utils import sanitize_for_serialization
from pydantic import BaseModel, ValidationError

from openarts.schemas.training_jobs import (
    LOG_PREVIEW_MAX_BYTES,
    LogPreviewOut,
    LogUrlOut,
    TaskMetricsOut,
    TrainingJobActionIn,
    TrainingJobCreateIn,
    TrainingJobDescriptionIn,
    TrainingJobEventsOut,
    TrainingJobEventsQuery,
    TrainingJobListOut,
    TrainingJobOut,
    TrainingJobSearchIn,
)

# Example bodies from the API reference pages, kept verbatim apart from a shortened log.

CREATE_FREE_FLAVOR: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob", "description": "This is a ModelArts job"},
    "algorithm": {
        "id": "3f5d6706-7b67-408d-8ba0-ec08048c45ed",
        "parameters": [
            {"name": "input_dir", "value": "obs://test/moxingtest-dir/"},
            {"name": "input_file", "value": "obs://test/moxingtest/"},
            {"name": "large_file_method", "value": "1"},
        ],
        "policies": {"auto_search": None},
        "environments": {},
    },
    "spec": {
        "resource": {"flavor_id": "modelarts.p3.large.public.free", "node_count": 1},
        "log_export_path": {"obs_url": ""},
    },
}

CREATE_CUSTOM_IMAGE: dict[str, Any] = {
    "kind": "job",
    "metadata": {"name": "TestModelArtsJob2", "description": "This is a ModelArts job2"},
    "algorithm": {
        "engine": {"image_url": "xxxxxxxx/fastseq:1.2"},
        "command": "cd /home/ma-user/ddp_demo && sh run_ddp.sh",
        "parameters": [],
        "policies": {"auto_search": None},
        "environments": {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"},
    },
    "spec": {
        "resource": {
            "flavor_id": "modelarts.pool.visual.xlarge",
            "node_count": 1,
            "pool_id": "poolfaf38d76",
        },
        "log_export_path": {"obs_url": "/training-test/limou/ddp-demo-log/"},
        "volumes": [
            {
                "nfs": {
                    "nfs_server_path": "192.168.0.82:/",
                    "local_path": "/home/ma-user/nfs/",
                    "read_only": False,
                }
            }
        ],
    },
}

DESCRIPTION_CHANGE: dict[str, Any] = {"description": "hahaha"}

TERMINATE: dict[str, Any] = {"action_type": "terminate"}

SEARCH: dict[str, Any] = {
    "offset": 0,
    "limit": 1,
    "filters": [
        {"key": "name", "operator": "like", "value": ["trainjob"]},
        {"key": "create_time", "operator": "between", "value": ["", ""]},
        {"key": "phase", "operator": "in", "value": [""]},
        {"key": "algorithm_name", "operator": "like", "value": [""]},
        {"key": "kind", "operator": "in", "value": []},
        {"key": "user_id", "operator": "in", "value": [""]},
        {"key": "runtime_type", "operator": "in", "value": ["debug"]},
    ],
}

CREATED_JOB: dict[str, Any] = {
    "kind": "job",
    "metadata": {
        "id": "425b7087-83de-49ed-9e40-5bb642be956f",
        "name": "TestModelArtsJob",
        "description": "This is a ModelArts job",
        "create_time": 1637045545982,
        "workspace_id": "0",
        "user_name": "",
    },
    "status": {
        "phase": "Creating",
        "secondary_phase": "Creating",
        "duration": 0,
        "start_time": 0,
        "node_count_metrics": None,
        "tasks": ["worker-0", "server-0"],
    },
    "algorithm": {
        "id": "3f5d6706-7b67-408d-8ba0-ec08048c45ed",
        "name": "ttt-obs-gpu",
        "code_dir": "/test/moxingtest-code/",
        "boot_file": "test/moxingtest-code/test_obs_gpu.py",
        "parameters": [
            {
                "name": "input_dir",
                "description": "",
                "i18n_description": None,
                "value": "s://test/moxingtest-dir/",
                "constraint": {
                    "type": "String",
                    "editable": True,
                    "required": True,
                    "sensitive": False,
                    "valid_type": "None",
                    "valid_range": [],
                },
            },
            {
                "name": "input_file",
                "description": "",
                "i18n_description": None,
                "value": "obs://test/moxingtest/",
                "constraint": {
                    "type": "String",
                    "editable": True,
                    "required": True,
                    "sensitive": False,
                    "valid_type": "None",
                    "valid_range": [],
                },
            },
            {
                "name": "large_file_method",
                "description": "",
                "i18n_description": None,
                "value": "1",
                "constraint": {
                    "type": "Integer",
                    "editable": True,
                    "required": True,
                    "sensitive": False,
                    "valid_type": "None",
                    "valid_range": [],
                },
            },
        ],
        "engine": {
            "engine_id": "horovod-cp36-tf-1.16.2",
            "engine_name": "Horovod",
            "engine_version": "0.16.2-TF-1.13.1-python3.6",
        },
        "policies": {},
    },
    "spec": {
        "resource": {
            "policy": "regular",
            "flavor_id": "modelarts.p3.large.public.free",
            "flavor_name": "Computing GPU(Vnt1) instance",
            "node_count": 1,
            "flavor_detail": {
                "flavor_type": "GPU",
                "billing": {"code": "modelarts.vm.gpu.free", "unit_num": 1},
                "flavor_info": {
                    "cpu": {"arch": "x86", "core_num": 8},
                    "gpu": {"unit_num": 1, "product_name": "GP-Vnt1", "memory": "32GB"},
                    "memory": {"size": 64, "unit": "GB"},
                },
            },
        },
        "log_export_path": {},
        "custom_metrics": [{"metrics_url": "/raw_text", "metrics_port": 5006}],
    },
}

JOB_DETAILS: dict[str, Any] = {
    "kind": "job",
    "metadata": {
        "id": "3faf5c03-aaa1-4cbe-879d-24b05d997347",
        "name": "trainjob--py14_mem06-108",
        "description": "",
        "create_time": 1636447346315,
        "workspace_id": "0",
        "user_name": "",
    },
    "status": {
        "phase": "Abnormal",
        "secondary_phase": "CreateFailed",
        "duration": 0,
        "start_time": 0,
        "node_count_metrics": [[1636447746000, 0], [1636447755000, 0], [1636447756000, 0]],
        "tasks": ["worker-0"],
        "running_records": [
            {
                "start_at": 1701327093,
                "end_at": 1701322341,
                "start_type": "init_or_rescheduled",
                "end_recover": "job_reschedule",
                "end_reason": "exit with 127",
                "end_related_task": "worker-2",
                "end_recover_before_downgrade": "npu_proc_restart",
            },
            {
                "start_at": 1701323345,
                "end_at": 1701325432,
                "start_type": "init_or_rescheduled",
                "end_reason": "job completed",
            },
        ],
    },
    "algorithm": {
        "code_dir": "obs://test/economic_test/py_minist/",
        "boot_file": "obs://test/economic_test/py_minist/minist_common.py",
        "inputs": [
            {
                "name": "data_url",
                "local_dir": "/home/ma-user/modelarts/inputs/data_url_0",
                "remote": {"obs": {"obs_url": "/test/data/py_minist/"}},
            }
        ],
        "outputs": [
            {
                "name": "train_url",
                "local_dir": "/home/ma-user/modelarts/outputs/train_url_0",
                "remote": {"obs": {"obs_url": "/test/train_output/"}},
            }
        ],
        "engine": {
            "engine_id": "pytorch-cp36-1.4.0-v2",
            "engine_name": "PyTorch",
            "engine_version": "PyTorch-1.4.0-python3.6-v2",
        },
    },
    "spec": {
        "resource": {
            "flavor_id": "modelarts.vm.pnt1.large.eco",
            "node_count": 1,
            "flavor_detail": {
                "flavor_type": "GPU",
                "billing": {"code": "modelarts.vm.gpu.pnt1.eco", "unit_num": 1},
                "flavor_info": {
                    "cpu": {"arch": "x86", "core_num": 8},
                    "gpu": {"unit_num": 1, "memory": "8GB"},
                    "memory": {"size": 64, "unit": "GB"},
                },
            },
        },
        "custom_metrics": [{"metrics_url": "/raw_text", "metrics_port": 5006}],
    },
}

TERMINATING_JOB: dict[str, Any] = {
    "kind": "job",
    "metadata": {
        "id": "cf63aba9-63b1-4219-b717-708a2665100b",
        "name": "trainjob--py14_mem06-110",
        "description": "",
        "create_time": 1636515222282,
        "workspace_id": "0",
        "user_name": "ei_modelarts_z00424192_01",
    },
    "status": {
        "phase": "Terminating",
        "secondary_phase": "Terminating",
        "duration": 0,
        "start_time": 0,
        "node_count_metrics": None,
        "tasks": ["worker-0"],
    },
    "algorithm": {
        "code_dir": "obs://test/economic_test/py_minist/",
        "boot_file": "obs://test/economic_test/py_minist/minist_common.py",
        "inputs": [
            {
                "name": "data_url",
                "local_dir": "/home/ma-user/modelarts/inputs/data_url_0",
                "remote": {"obs": {"obs_url": "/test/data/py_minist/"}},
            }
        ],
        "outputs": [
            {
                "name": "train_url",
                "local_dir": "/home/ma-user/modelarts/outputs/train_url_0",
                "remote": {"obs": {"obs_url": "/test/train_output/"}},
            }
        ],
        "engine": {
            "engine_id": "pytorch-cp36-1.4.0-v2",
            "engine_name": "PyTorch",
            "engine_version": "PyTorch-1.4.0-python3.6-v2",
        },
    },
    "spec": {
        "resource": {
            "policy": "economic",
            "flavor_id": "modelarts.vm.pnt1.large.eco",
            "flavor_name": "Computing GPU(Pnt1) instance",
            "node_count": 1,
            "flavor_detail": {
                "flavor_type": "GPU",
                "billing": {"code": "modelarts.vm.gpu.pnt1.eco", "unit_num": 1},
                "flavor_info": {
                    "cpu": {"arch": "x86", "core_num": 8},
                    "gpu": {"unit_num": 1, "product_name": "GP-Pnt1", "memory": "8GB"},
                    "memory": {"size": 64, "unit": "GB"},
                },
            },
        }
    },
}

JOB_LIST: dict[str, Any] = {
    "total": 5059,
    "count": 1,
    "limit": 1,
    "offset": 0,
    "sort_by": "create_time",
    "order": "desc",
    "group_by": "",
    "workspace_id": "0",
    "ai_project": "default-ai-project",
    "items": [
        {
            "kind": "job",
            "metadata": {
                "id": "3faf5c03-aaa1-4cbe-879d-24b05d997347",
                "name": "trainjob--py14_mem06-byd-108",
                "description": "",
                "create_time": 1636447346315,
                "workspace_id": "0",
                "user_name": "ei_modelarts_q00357245_01",
            },
            "status": {
                "phase": "Abnormal",
                "secondary_phase": "CreateFailed",
                "duration": 0,
                "start_time": 0,
                "node_count_metrics": [[1636447746000, 0], [1636447755000, 0], [1636447756000, 0]],
                "tasks": ["worker-0"],
            },
            "algorithm": {
                "code_dir": "obs://test-crq/economic_test/py_minist/",
                "boot_file": "obs://test-crq/economic_test/py_minist/minist_common.py",
                "inputs": [
                    {
                        "name": "data_url",
                        "local_dir": "/home/ma-user/modelarts/inputs/data_url_0",
                        "remote": {"obs": {"obs_url": "/test-crq/data/py_minist/"}},
                    }
                ],
                "outputs": [
                    {
                        "name": "train_url",
                        "local_dir": "/home/ma-user/modelarts/outputs/train_url_0",
                        "remote": {"obs": {"obs_url": "/test-crq/train_output/"}},
                    }
                ],
                "engine": {
                    "engine_id": "pytorch-cp36-1.4.0-v2",
                    "engine_name": "PyTorch",
                    "engine_version": "PyTorch-1.4.0-python3.6-v2",
                },
            },
            "spec": {
                "resource": {
                    "policy": "economic",
                    "flavor_id": "modelarts.vm.pnt1.large.eco",
                    "flavor_name": "Computing GPU(Pnt1) instance",
                    "node_count": 1,
                    "flavor_detail": {
                        "flavor_type": "GPU",
                        "billing": {"code": "modelarts.vm.gpu.pnt1.eco", "unit_num": 1},
                        "flavor_info": {
                            "cpu": {"arch": "x86", "core_num": 8},
                            "gpu": {"unit_num": 1, "product_name": "GP-Pnt1", "memory": "8GB"},
                            "memory": {"size": 64, "unit": "GB"},
                        },
                    },
                }
            },
        }
    ],
}

LOG_PREVIEW: dict[str, Any] = {
    "content": (
        "[Modelarts Service Log]collect and upload logs end at 2021-05-18-14:28:13\n[Modelarts "
        "Service Log]exiting..:"
    ),
    "current_size": 126548,
    "full_size": 5242880,
}

LOG_URL: dict[str, Any] = {
    "obs_url": (
        "http://10.155.101.248:20000/cnnorth4-test/xk/00chess_test/test11/logs/"
        "modelarts-job-0f2ccdbb-4f34-4d53-afb9-d526f3be8c68-ma-platform-init-worker-"
        "0-172.16.24.51-01909681.log?AWSAccessKeyId=xxxxx"
    )
}

TASK_METRICS: dict[str, Any] = {
    "metrics": [
        {
            "metric": "cpuUsage",
            "value": [
                -1,
                -1,
                2.43,
                4.524,
                6.714,
                12.422,
                9.214,
                5.36,
                7.5,
                10.088,
                8.975,
                11.423,
                11.548,
                14.563,
                16.833,
            ],
        },
        {
            "metric": "memUsage",
            "value": [
                -1,
                -1,
                0.04,
                0.521,
                1.652,
                4.252,
                6.433,
                7.384,
                7.982,
                8.718,
                9.365,
                9.881,
                10.192,
                9.994,
                9.005,
            ],
        },
        {
            "metric": "gpuUtil",
            "value": [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
        },
        {
            "metric": "gpuMemUsage",
            "value": [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
        },
        {
            "metric": "npuUtil",
            "value": [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
        },
        {
            "metric": "npuMemUsage",
            "value": [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
        },
    ]
}

JOB_EVENTS: dict[str, Any] = {
    "total": 27,
    "limit": 10,
    "offset": 0,
    "order": "desc",
    "start_time": "2022-11-26T16:01:36+08:00",
    "end_time": "2022-11-29T16:53:11+08:00",
    "events": [
        {
            "time": "2022-11-26T16:03:41+08:00",
            "level": "Error",
            "message": "Training job failed.",
            "source": "Job",
        },
        {
            "time": "2022-11-26T16:03:16+08:00",
            "level": "Info",
            "message": (
                "[Job: modelarts-job-5bd61eea-9de2-4864-a0f7-5fae966171b5] ExecuteAction: "
                "Start to execute action TerminateJob"
            ),
            "source": "K8S",
        },
        {
            "time": "2022-11-26T16:03:12+08:00",
            "level": "Info",
            "message": (
                "[worker-0][time used: 0.296s] Upload training output(parameter name: train_url) "
                "finished."
            ),
            "source": "Task",
        },
        {
            "time": "2022-11-26T16:03:12+08:00",
            "level": "Info",
            "message": "[worker-0] Training output(parameter name: train_url) Uploading.",
            "source": "Task",
        },
        {
            "time": "2022-11-26T16:03:11+08:00",
            "level": "Info",
            "message": "[worker-0] Training finished. Exit code 1.",
            "source": "Task",
        },
        {
            "time": "2022-11-26T16:02:10+08:00",
            "level": "Info",
            "message": "[worker-0] training started.",
            "source": "Task",
        },
        {
            "time": "2022-11-26T16:02:09+08:00",
            "level": "Info",
            "message": "Training job is running.",
            "source": "Job",
        },
        {
            "time": "2022-11-26T16:02:06+08:00",
            "level": "Info",
            "message": (
                "[Pod: modelarts-job-5bd61eea-9de2-4864-a0f7-5fae966171b5-worker-0] Started: "
                "Started container"
            ),
            "source": "K8S",
        },
        {
            "time": "2022-11-26T16:02:06+08:00",
            "level": "Info",
            "message": (
                "[Pod: modelarts-job-5bd61eea-9de2-4864-a0f7-5fae966171b5-worker-0] "
                "SuccessfulCreate: Created container"
            ),
            "source": "K8S",
        },
        {
            "time": "2022-11-26T16:02:05+08:00",
            "level": "Info",
            "message": (
                "[Pod: modelarts-job-5bd61eea-9de2-4864-a0f7-5fae966171b5-worker-0] Pulled: "
                'Successfully pulled image "resource-path /modelarts-job-dev-image/modelarts-'
                'tool-container:1.0.0-5.3.1-b002.2"'
            ),
            "source": "K8s",
        },
    ],
}


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def wire(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def sdk_reads(body: dict[str, Any], response_type: str) -> Any:
    """What the SDK makes of an answer body, without a network round trip."""
    client = Client()
    client.model_package = sdk
    return client._deserialize(body, response_type)


# -- requests -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "body"),
    [
        (TrainingJobCreateIn, CREATE_FREE_FLAVOR),
        (TrainingJobCreateIn, CREATE_CUSTOM_IMAGE),
        (TrainingJobDescriptionIn, DESCRIPTION_CHANGE),
        (TrainingJobActionIn, TERMINATE),
        (TrainingJobSearchIn, SEARCH),
    ],
)
def test_reference_request_examples_validate_without_loss(
    model: type[BaseModel], body: dict[str, Any]
) -> None:
    parsed = model.model_validate(body)
    assert wire(parsed) == without_nulls(body)


def test_create_example_fields_land_where_expected() -> None:
    job = TrainingJobCreateIn.model_validate(CREATE_CUSTOM_IMAGE)
    assert job.kind == "job"
    assert job.metadata.name == "TestModelArtsJob2"
    assert job.algorithm is not None and job.algorithm.engine is not None
    assert job.algorithm.engine.image_url == "xxxxxxxx/fastseq:1.2"
    assert job.algorithm.environments == {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "0"}
    assert job.spec is not None and job.spec.resource is not None
    assert job.spec.resource.pool_id == "poolfaf38d76"
    assert job.spec.volumes is not None and job.spec.volumes[0].nfs is not None
    assert job.spec.volumes[0].nfs.read_only is False


def test_search_example_filters() -> None:
    search = TrainingJobSearchIn.model_validate(SEARCH)
    assert search.filters is not None
    assert [(f.key, f.operator) for f in search.filters][:3] == [
        ("name", "like"),
        ("create_time", "between"),
        ("phase", "in"),
    ]


def test_scalars_sent_for_strings_are_taken_as_text() -> None:
    body = copy.deepcopy(CREATE_FREE_FLAVOR)
    body["metadata"]["annotations"] = {
        "fault-tolerance/job-retry-num": 3,
        "fault-tolerance/job-unconditional-retry": True,
    }
    body["algorithm"]["environments"] = {"EPOCHS": 10}
    body["algorithm"]["parameters"] = [{"name": "lr", "value": 0.01}]
    job = TrainingJobCreateIn.model_validate(body)
    assert job.metadata.annotations == {
        "fault-tolerance/job-retry-num": "3",
        "fault-tolerance/job-unconditional-retry": "true",
    }
    assert job.algorithm is not None
    assert job.algorithm.environments == {"EPOCHS": "10"}
    assert job.algorithm.parameters is not None
    assert job.algorithm.parameters[0].value == "0.01"


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("kind", "notebook", "kind"),
        ("metadata.name", "my job", "metadata.name"),
        ("metadata.name", "", "metadata.name"),
        ("metadata.name", "a" * 65, "metadata.name"),
        ("metadata.name", "job.v1", "metadata.name"),
        ("metadata.description", "d" * 257, "metadata.description"),
        ("spec.resource.node_count", 0, "spec.resource.node_count"),
        ("algorithm.environments", {"1ABC": "x"}, "algorithm.environments"),
        ("algorithm.environments", {"A-B": "x"}, "algorithm.environments"),
        ("algorithm.environments", {"A": "v" * 4097}, "algorithm.environments"),
        (
            "algorithm.environments",
            {f"V{i}": "x" for i in range(101)},
            "algorithm.environments",
        ),
        ("algorithm.environments", {"A": {"nested": 1}}, "algorithm.environments"),
        ("algorithm.inputs", [{"name": "data_url", "remote": {}}], "algorithm.inputs"),
        ("algorithm.outputs", [{"name": "train_url"}], "algorithm.outputs"),
        ("spec.auto_stop", {"time_unit": "HOURS", "duration": 0}, "spec.auto_stop"),
        ("spec.auto_stop", {"time_unit": "DAYS", "duration": 1}, "spec.auto_stop"),
        ("spec.custom_metrics", [{"metrics_port": 70000}], "spec.custom_metrics"),
        ("spec.notification", {"events": ["JobExploded"]}, "spec.notification"),
    ],
)
def test_bad_create_bodies_are_refused(path: str, value: Any, where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingJobCreateIn.model_validate(_set(CREATE_FREE_FLAVOR, path, value))
    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations


def test_create_needs_kind_and_metadata() -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingJobCreateIn.model_validate({})
    missing = {e["loc"][0] for e in caught.value.errors() if e["type"] == "missing"}
    assert missing == {"kind", "metadata"}


def test_unknown_fields_are_ignored_and_tasks_are_kept_for_the_service() -> None:
    body = copy.deepcopy(CREATE_FREE_FLAVOR)
    body["train_type"] = "ft"
    body["tasks"] = [{"role": "worker", "task_resource": {"node_count": 1}}]
    job = TrainingJobCreateIn.model_validate(body)
    assert job.tasks == [{"role": "worker", "task_resource": {"node_count": 1}}]
    assert "train_type" not in job.model_dump()


def test_other_bad_requests_are_refused() -> None:
    with pytest.raises(ValidationError):
        TrainingJobActionIn.model_validate({"action_type": "stop"})
    with pytest.raises(ValidationError):
        TrainingJobActionIn.model_validate({})
    with pytest.raises(ValidationError):
        TrainingJobDescriptionIn.model_validate({"description": "x" * 257})
    for bad in (
        {"limit": 0},
        {"limit": 51},
        {"offset": -1},
        {"order": "up"},
        {"filters": [{"key": "name", "operator": "eq", "value": ["x"]}]},
    ):
        with pytest.raises(ValidationError):
            TrainingJobSearchIn.model_validate(bad)
    assert TrainingJobSearchIn.model_validate({"limit": 50, "order": "asc"}).limit == 50
    with pytest.raises(ValidationError):
        TrainingJobEventsQuery.model_validate({"start_time": "1669449696964"})
    with pytest.raises(ValidationError):
        TrainingJobEventsQuery.model_validate({"limit": 101})
    query = TrainingJobEventsQuery.model_validate(
        {
            "order": "desc",
            "offset": "0",
            "limit": "10",
            "start_time": "1669449696964",
            "end_time": "1669711991259",
        }
    )
    assert (query.offset, query.limit) == (0, 10)


def test_sdk_request_bodies_keep_every_key() -> None:
    body = sdk.Job(
        kind="job",
        metadata=sdk.JobMetadata(
            name="sdk-job", description="from the SDK", annotations={"job_template": "x"}
        ),
        algorithm=sdk.JobAlgorithm(
            code_dir="obs://bucket/code/",
            boot_file="obs://bucket/code/train.py",
            parameters=[sdk.Parameters(name="lr", value="0.1")],
            inputs=[
                sdk.Input(
                    name="data_url",
                    remote=sdk.InputDataInfo(obs=sdk.InputDataInfoObs(obs_url="/b/data/")),
                )
            ],
            outputs=[
                sdk.Output(
                    name="train_url", remote=sdk.Remote(obs=sdk.RemoteObs(obs_url="/b/out/"))
                )
            ],
            engine=sdk.JobEngine(engine_name="PyTorch", engine_version="2.1"),
            environments={"A": "1"},
        ),
        spec=sdk.Spec(
            resource=sdk.SpecResource(flavor_id="modelarts.vm.cpu.2u", node_count=2),
            volumes=[sdk.SpecVolumes(obs=sdk.Obs(obs_path="/b/x", local_path="/mnt/x"))],
            log_export_path=sdk.LogExportPath(obs_url="obs://b/logs/"),
            auto_stop=sdk.AutoStop(time_unit="HOURS", duration=2),
            schedule_policy=sdk.SchedulePolicy(priority=1, preemptible=False),
            custom_metrics=[sdk.CustomMetrics(http_get=sdk.HttpGet(path="/m", port=8080))],
        ),
        endpoints=sdk.JobEndpointsReq(ssh=sdk.SSHReq(key_pair_names=["kp"])),
    )
    sent = sanitize_for_serialization(body)
    assert wire(TrainingJobCreateIn.model_validate(sent)) == sent
    assert wire(
        TrainingJobSearchIn.model_validate(
            sanitize_for_serialization(
                sdk.JobSearches(
                    offset=0,
                    limit=10,
                    sort_by="create_time",
                    order="asc",
                    filters=[sdk.Filter(key="phase", operator="in", value=["Running"])],
                )
            )
        )
    ) == {
        "offset": 0,
        "limit": 10,
        "sort_by": "create_time",
        "order": "asc",
        "filters": [{"key": "phase", "operator": "in", "value": ["Running"]}],
    }
    assert sanitize_for_serialization(sdk.JobActionType(action_type="terminate")) == TERMINATE


# -- answers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "body"),
    [
        (TrainingJobOut, CREATED_JOB),
        (TrainingJobOut, JOB_DETAILS),
        (TrainingJobOut, TERMINATING_JOB),
        (TrainingJobListOut, JOB_LIST),
        (LogPreviewOut, LOG_PREVIEW),
        (LogUrlOut, LOG_URL),
        (TaskMetricsOut, TASK_METRICS),
        (TrainingJobEventsOut, JOB_EVENTS),
    ],
)
def test_reference_answer_examples_round_trip(model: type[BaseModel], body: dict[str, Any]) -> None:
    assert wire(model.model_validate(body)) == without_nulls(body)


def test_answer_keys_follow_the_reference() -> None:
    job = TrainingJobOut.model_validate(
        {
            "metadata": {"id": "j1", "name": "n", "create_time": 1},
            "status": {
                "phase": "Failed",
                "secondary_phase": "Failed",
                "task_statuses": [{"task": "worker-0", "exit_code": 2, "message": "boom"}],
                "running_records": [{"start_at": 1, "end_at": 2, "end_reason": "exit with 2"}],
                "node_count_metrics": [[1000, 1]],
            },
            "algorithm": {"environments": [{"A": "1"}]},
            "endpoints": {"ssh": {"task_urls": [{"task": "worker-0", "url": "ssh://x"}]}},
        }
    )
    out = wire(job)
    assert out["kind"] == "job"
    assert set(out["status"]) == {
        "phase",
        "secondary_phase",
        "task_statuses",
        "running_records",
        "node_count_metrics",
    }
    assert out["status"]["task_statuses"] == [
        {"task": "worker-0", "exit_code": 2, "message": "boom"}
    ]
    assert "description" not in out["metadata"]
    assert "spec" not in out

    read = sdk_reads(out, "ShowTrainingJobDetailsResponse")
    assert read.status.secondary_phase == "Failed"
    assert read.status.task_statuses[0].exit_code == 2
    assert read.status.running_records[0].end_reason == "exit with 2"
    assert read.algorithm.environments == [{"A": "1"}]
    assert read.endpoints.ssh.task_urls[0].url == "ssh://x"


def test_sdk_reads_the_reference_answers() -> None:
    listed = sdk_reads(
        wire(TrainingJobListOut.model_validate(JOB_LIST)), "ListTrainingJobsResponse"
    )
    assert listed.total == 5059
    assert listed.items[0].spec.resource.flavor_detail.flavor_info.gpu.memory == "8GB"
    preview = sdk_reads(
        wire(LogPreviewOut.model_validate(LOG_PREVIEW)), "ShowTrainingJobLogsPreviewResponse"
    )
    assert preview.full_size == LOG_PREVIEW_MAX_BYTES
    metrics = sdk_reads(
        wire(TaskMetricsOut.model_validate(TASK_METRICS)), "ShowTrainingJobMetricsResponse"
    )
    assert [m.metric for m in metrics.metrics] == [
        "cpuUsage",
        "memUsage",
        "gpuUtil",
        "gpuMemUsage",
        "npuUtil",
        "npuMemUsage",
    ]
    events = sdk_reads(
        wire(TrainingJobEventsOut.model_validate(JOB_EVENTS)), "ListTrainingJobEventsResponse"
    )
    assert events.total == 27
    assert events.events[0].level == "Error"
