"""DevEnviron wire shapes (notebooks, images, flavors, leases, storage mounts) against the
reference's examples and the official SDK's models."""

from __future__ import annotations

import copy
import types
import typing
from typing import Annotated, Any

import httpx
import huaweicloudsdkmodelarts.v1.model as sdk
import pytest
from fastapi import FastAPI, Query
from huaweicloudsdkcore.client import Client
from huaweicloudsdkcore.utils.http_utils import sanitize_for_serialization
from pydantic import BaseModel, ValidationError

from openarts.schemas.images import (
    IMAGE_STATUSES,
    ImageDeleteBody,
    ImageDeleteQuery,
    ImageGroupOut,
    ImageGroupPage,
    ImageGroupQuery,
    ImageListQuery,
    ImageOut,
    ImagePage,
    ImageRegister,
)
from openarts.schemas.notebooks import (
    LEASE_TYPES,
    MOUNT_STATUSES,
    NOTEBOOK_STATUSES,
    LeaseOut,
    LeaseQuery,
    LeaseUpdate,
    NotebookCreate,
    NotebookFlavorOut,
    NotebookFlavorPage,
    NotebookFlavorQuery,
    NotebookImageSave,
    NotebookListQuery,
    NotebookOut,
    NotebookPage,
    NotebookStartQuery,
    NotebookUpdate,
    StorageMount,
    StorageOut,
    StoragePage,
    SwitchableFlavorQuery,
)

# -- the reference's examples, as the pages give them --------------------------------------
# The prolong page shows its body after the URL in a text block.
PROLONG_REQUEST: dict[str, Any] = {"duration": 3600000, "type": "timing"}

CREATE_REQUEST: dict[str, Any] = {
    "name": "notebooks_test",
    "feature": "NOTEBOOK",
    "workspace_id": "0",
    "description": "api-test",
    "flavor": "modelarts.vm.cpu.2u",
    "image_id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
    "volume": {"category": "evs", "ownership": "managed", "capacity": 50},
}

CREATE_ANSWER: dict[str, Any] = {
    "description": "api-test",
    "feature": "NOTEBOOK",
    "flavor": "modelarts.vm.cpu.2u",
    "id": "f9937afa-4451-42db-a76b-72d624749f66",
    "image": {
        "description": "description",
        "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        "name": "notebook2.0-mul-kernel-cpu-cp36",
        "swr_path": "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1",
        "tag": "3.3.2-release_v1",
        "type": "BUILD_IN",
    },
    "lease": {
        "create_at": 1638841744515,
        "duration": 3600000,
        "enable": True,
        "type": "TIMING",
        "update_at": 1638841744515,
    },
    "name": "notebooks_test",
    "status": "CREATING",
    "token": "3eff13f2-3d70-5456-6dc7-e3f99f562022",
    "workspace_id": "0",
}

LIST_ANSWER: dict[str, Any] = {
    "current": 0,
    "data": [
        {
            "description": "api-test",
            "feature": "DEFAULT",
            "flavor": "modelarts.vm.cpu.free",
            "id": "f9937afa-ca78-45b6-bc12-7ecf42553c48",
            "image": {
                "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
                "name": "notebook2.0-mul-kernel-cpu-cp36",
                "swr_path": (
                    "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1"
                ),
                "type": "BUILD_IN",
            },
            "lease": {
                "create_at": 1638841805439,
                "duration": 3600000,
                "enable": True,
                "update_at": 1638841805439,
            },
            "name": "notebook_5ee4bf0e",
            "status": "CREATING",
            "token": "58ba50c6-e8ff-245c-4840-49e51aa70737",
            "volume": {
                "category": "EVS",
                "ownership": "MANAGED",
                "mount_path": "/home/ma-user/work/",
                "capacity": 50,
            },
            "workspace_id": "0",
        },
        {
            "description": "api-test",
            "feature": "NOTEBOOK",
            "flavor": "modelarts.vm.cpu.2u",
            "id": "f9937afa-4451-42db-a76b-72d624749f66",
            "image": {
                "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
                "name": "notebook2.0-mul-kernel-cpu-cp36",
                "swr_path": (
                    "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1"
                ),
                "type": "BUILD_IN",
            },
            "lease": {
                "create_at": 1638841744515,
                "duration": 3600000,
                "enable": True,
                "update_at": 1638841744515,
            },
            "name": "notebooks_test",
            "status": "CREATING",
            "token": "3eff13f2-3d70-5456-6dc7-e3f99f562022",
            "volume": {
                "category": "EVS",
                "ownership": "MANAGED",
                "mount_path": "/home/ma-user/work/",
                "capacity": 50,
            },
            "workspace_id": "0",
        },
    ],
    "pages": 1,
    "size": 10,
    "total": 2,
}

SHOW_ANSWER: dict[str, Any] = {
    "description": "api-test",
    "feature": "NOTEBOOK",
    "flavor": "modelarts.vm.cpu.2u",
    "id": "f9937afa-631e-4a8f-a8f7-3b6c800585f0",
    "image": {
        "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        "name": "notebook2.0-mul-kernel-cpu-cp36",
        "swr_path": "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.1.B007_V2",
        "type": "BUILD_IN",
    },
    "lease": {
        "create_at": 1638778344300,
        "duration": 3600000,
        "enable": True,
        "update_at": 1638778344300,
    },
    "name": "notebooks_test",
    "status": "CREATING",
    "token": "7b22482a-a4cb-4b46-e3b3-6a793a47967e",
    "url": "https://authoring-modelarts-xxxxx.xxxxx.com/f9937afa-631e-4a8f-a8f7-3b6c800585f0/lab",
    "workspace_id": "0",
}

UPDATE_REQUEST: dict[str, Any] = {"description": "update"}

UPDATE_ANSWER: dict[str, Any] = {
    "description": "test",
    "flavor": "modelarts.vm.cpu.8u",
    "name": "notebook-1111",
    "endpoints": [{"allowed_access_ips": ["1.1.1.1"]}],
}

DELETE_ANSWER: dict[str, Any] = {
    "create_at": 1638841805440,
    "description": "update",
    "feature": "DEFAULT",
    "flavor": "modelarts.vm.cpu.free",
    "id": "f9937afa-ca78-45b6-bc12-7ecf42553c48",
    "image": {
        "description": "description",
        "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        "name": "notebook2.0-mul-kernel-cpu-cp36",
        "swr_path": "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1",
        "tag": "3.3.2-release_v1",
        "type": "BUILD_IN",
    },
    "lease": {
        "create_at": 1638841805439,
        "duration": 3600000,
        "enable": True,
        "update_at": 1638841805439,
    },
    "name": "notebook_5ee4bf0e",
    "status": "DELETING",
    "token": "58ba50c6-e8ff-245c-4840-49e51aa70737",
    "update_at": 1638842504178,
    "workspace_id": "0",
}

START_ANSWER: dict[str, Any] = {
    "description": "api-test",
    "feature": "NOTEBOOK",
    "flavor": "modelarts.vm.cpu.2u",
    "id": "f9937afa-4451-42db-a76b-72d624749f66",
    "image": {
        "description": "description",
        "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        "name": "notebook2.0-mul-kernel-cpu-cp36",
        "swr_path": "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1",
        "tag": "3.3.2-release_v1",
        "type": "BUILD_IN",
    },
    "lease": {
        "create_at": 1638841744515,
        "duration": 6327212,
        "enable": True,
        "type": "TIMING",
        "update_at": 1638844471727,
    },
    "name": "notebooks_test",
    "status": "STARTING",
    "token": "5cc60e8b-8772-7690-efd6-a5874ca387c0",
    "url": "https://authoring-modelarts-xxxxx.xxxxx.com/f9937afa-4451-42db-a76b-72d624749f66/lab",
    "volume": {
        "category": "EFS",
        "ownership": "MANAGED",
        "mount_path": "/home/ma-user/work/",
        "capacity": 50,
    },
    "workspace_id": "0",
}

STOP_ANSWER: dict[str, Any] = {
    "description": "api-test",
    "feature": "NOTEBOOK",
    "flavor": "modelarts.vm.cpu.2u",
    "id": "f9937afa-4451-42db-a76b-72d624749f66",
    "image": {
        "description": "description",
        "id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
        "name": "notebook2.0-mul-kernel-cpu-cp36",
        "swr_path": "swr.xxxxx.com/atelier/notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1",
        "tag": "3.3.2-release_v1",
        "type": "BUILD_IN",
    },
    "lease": {
        "create_at": 1638841744515,
        "duration": 5313106,
        "enable": True,
        "update_at": 1638843457621,
    },
    "name": "notebooks_test",
    "status": "STOPPING",
    "token": "7bddd8ff-8a0d-e063-3107-c70a862832de",
    "url": "https://authoring-modelarts-xxxxx.xxxxx.com/f9937afa-4451-42db-a76b-72d624749f66/lab",
    "volume": {
        "category": "EFS",
        "ownership": "MANAGED",
        "mount_path": "/home/ma-user/work/",
        "capacity": 50,
    },
    "workspace_id": "0",
}

SAVE_IMAGE_REQUEST: dict[str, Any] = {
    "name": "pytorch1_4",
    "namespace": "atelier-auto",
    "tag": "20221223",
    "description": "save from notebook-x21d",
    "workspace_id": "0",
}

SAVE_IMAGE_ANSWER: dict[str, Any] = {
    "arch": "x86_64",
    "create_at": 1671786468811,
    "description": "notebook2.0 20200816",
    "dev_services": ["SSH", "NOTEBOOK"],
    "id": "4e0d1854-63e5-4517-b683-a0ee97a692a1",
    "name": "pytorch1_4",
    "namespace": "atelier-auto",
    "origin": "IMAGE_SAVE",
    "resource_categories": ["CPU", "GPU"],
    "service_type": "TRAIN",
    "status": "INIT",
    "swr_path": "swr.xxxxx.com/atelier-auto/pytorch1_4:20221223",
    "tag": "20221223",
    "type": "DEDICATED",
    "update_at": 1671786468811,
    "visibility": "PRIVATE",
    "workspace_id": "0",
}

FLAVORS_ANSWER: dict[str, Any] = {
    "current": 1,
    "data": [
        {
            "arch": "x86_64",
            "billing": {"code": "modelarts.vm.cpu.2u", "unit_num": 1},
            "category": "CPU",
            "description": "General-purpose Intel CPU flavor, ideal for rapid data exploration "
            "and experiments",
            "feature": "NOTEBOOK",
            "free": False,
            "id": "modelarts.vm.cpu.2u",
            "memory": 8388608,
            "name": "CPU: 2 vCPUs 8 GB",
            "sold_out": False,
            "storages": ["EVS", "OBSFS", "EFS", "OBS"],
            "vcpus": 2,
        }
    ],
    "pages": 1,
    "size": 1,
    "total": 1,
}

SWITCHABLE_FLAVORS_ANSWER: dict[str, Any] = {
    "current": 1,
    "data": [
        {
            "arch": "aarch64",
            "billing": {"code": "modelarts.kat1.xlarge", "unit_num": 2},
            "category": "CPU",
            "description": "The specification is suitable for deep learning code running and "
            "debugging",
            "feature": "NOTEBOOK",
            "free": False,
            "id": "modelarts.bm.snt9.xlarge.2",
            "memory": 201326592,
            "name": "CPU: 48vCPUs 192GB",
            "sold_out": False,
            "storages": ["EFS"],
            "vcpus": 48,
        },
        {
            "arch": "aarch64",
            "billing": {"code": "modelarts.kat1.8xlarge", "unit_num": 1},
            "category": "CPU",
            "description": "The specification is suitable for deep learning code running and "
            "debugging",
            "feature": "NOTEBOOK",
            "free": False,
            "id": "modelarts.bm.snt9.xlarge.8",
            "memory": 805306368,
            "name": "CPU: 192vCPUs 768GB",
            "sold_out": False,
            "storages": ["EFS"],
            "vcpus": 192,
        },
    ],
    "flavors": [
        {
            "arch": "aarch64",
            "billing": {"code": "modelarts.kat1.xlarge", "unit_num": 2},
            "category": "GPU",
            "description": "The specification is suitable for deep learning code running and "
            "debugging",
            "feature": "NOTEBOOK",
            "free": False,
            "id": "modelarts.bm.snt9.xlarge.2",
            "memory": 201326592,
            "name": "CPU: 48vCPUs 192GB",
            "sold_out": False,
            "storages": ["EFS"],
            "vcpus": 48,
        },
        {
            "arch": "aarch64",
            "billing": {"code": "modelarts.kat1.8xlarge", "unit_num": 1},
            "category": "GPU",
            "description": "The specification is suitable for deep learning code running and "
            "debugging",
            "feature": "NOTEBOOK",
            "free": False,
            "id": "modelarts.bm.snt9.xlarge.8",
            "memory": 805306368,
            "name": "CPU: 192vCPUs 768GB",
            "sold_out": False,
            "storages": ["EFS"],
            "vcpus": 192,
        },
    ],
    "pages": 1,
    "size": 2,
    "total": 2,
}

LEASE_ANSWER: dict[str, Any] = {
    "create_at": 1638841744515,
    "duration": 3600000,
    "enable": True,
    "type": "TIMING",
    "update_at": 1638842905925,
}

PROLONG_ANSWER: dict[str, Any] = {
    "create_at": 1638841744515,
    "duration": 3600000,
    "enable": True,
    "type": "TIMING",
    "update_at": 1638843018759,
}

MOUNT_REQUEST: dict[str, Any] = {
    "category": "OBS",
    "mount_path": "/data/wang/",
    "uri": "obs://authoring-test/wang/",
}

MOUNT_ANSWER: dict[str, Any] = {
    "id": "91dd2d3f-2d92-475f-a375-04636af26cc9",
    "category": "OBSFS",
    "mount_path": "/data/wang/",
    "uri": "obs://authoring-test/wang/",
    "status": "MOUNTING",
}

STORAGE_LIST_ANSWER: dict[str, Any] = {
    "current": 1,
    "data": [
        {
            "id": "91dd2d3f-2d92-475f-a375-04636af26cc9",
            "category": "OBSFS",
            "mount_path": "/data/wang/",
            "uri": "obs://authoring-test/wang/",
            "status": "MOUNTED",
        }
    ],
    "pages": 1,
    "size": 1,
    "total": 1,
}

STORAGE_ANSWER: dict[str, Any] = {
    "id": "91dd2d3f-2d92-475f-a375-04636af26cc9",
    "category": "OBSFS",
    "mount_path": "/data/wang/",
    "uri": "obs://authoring-test/wang/",
    "status": "MOUNTED",
}

UNMOUNT_ANSWER: dict[str, Any] = {
    "category": "OBSFS",
    "id": "91dd2d3f-2d92-475f-a375-04636af26cc9",
    "mount_path": "/data/wang/",
    "status": "UNMOUNTING",
    "uri": "obs://authoring-test/wang/",
}

IMAGE_LIST_ANSWER: dict[str, Any] = {
    "current": 4,
    "data": [
        {
            "arch": "x86_64",
            "create_at": 1638841805439,
            "description": "AI inference application development, preconfigured ModelBox and AI "
            "engine LibTorch, only SSH connection supported.",
            "dev_services": ["AI_FLOW", "SSH"],
            "id": "e1a07296-22a8-4f05-8bc8-e936c8e54103",
            "name": "modelbox1.3.0-libtorch1.9.1-cuda10.2-cudnn8-euler2.9.6",
            "resource_categories": ["GPU"],
            "service_type": "TRAIN",
            "status": "ACTIVE",
            "swr_path": (
                "swr.xxx.com/atelier/modelarts-modelbox-libtorch-gpu-x86:"
                "1.3.0-20221027202714-160a680"
            ),
            "tag": "1.3.0-20221027202714-160a680",
            "type": "BUILD_IN",
            "update_at": 1638234504492,
            "workspace_id": "0",
        },
        {
            "arch": "x86_64",
            "create_at": 1638841805439,
            "description": "CPU and GPU general algorithm development and training, "
            "preconfigured with AI engine PyTorch1.8",
            "dev_services": ["NOTEBOOK", "SSH"],
            "id": "278e88d1-5b71-4766-8502-b3ba72e824d9",
            "name": "pytorch1.8-cuda10.2-cudnn7-ubuntu18.04",
            "resource_categories": ["GPU", "CPU"],
            "service_type": "COMMON",
            "status": "ACTIVE",
            "swr_path": (
                "swr.xxx.com/atelier/pytorch_1_8:"
                "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64-20220926104358-041ba2e"
            ),
            "tag": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64-20220926104358-041ba2e",
            "type": "BUILD_IN",
            "update_at": 1638234504492,
            "workspace_id": "0",
        },
    ],
    "pages": 54,
    "size": 2,
    "total": 107,
}

REGISTER_REQUEST: dict[str, Any] = {
    "description": "",
    "resource_category": ["CPU"],
    "arch": "X86_64",
    "swr_path": (
        "swr.xxx.com/op_svc_modelarts_container2/pytorch_1_8:train-pytorch_1.8.0-cuda_10.2-py_3.7"
    ),
}

REGISTER_ANSWER: dict[str, Any] = {
    "arch": "x86_64",
    "create_at": 1671708630448,
    "description": "",
    "dev_services": ["NOTEBOOK", "SSH"],
    "id": "708ca95d-c601-4dc7-86b9-670adfd5e818",
    "name": "pytorch_1_8",
    "namespace": "op_svc_modelarts_container2",
    "origin": "CUSTOMIZE",
    "resource_categories": ["CPU"],
    "service_type": "UNKNOWN",
    "size": 3376133259,
    "status": "ACTIVE",
    "swr_path": (
        "swr.xxx.com/op_svc_modelarts_container2/pytorch_1_8:train-pytorch_1.8.0-cuda_10.2-py_3.7"
    ),
    "tag": "train-pytorch_1.8.0-cuda_10.2-py_3.7",
    "type": "DEDICATED",
    "update_at": 1671708630448,
    "visibility": "PRIVATE",
    "workspace_id": "0",
}

IMAGE_GROUPS_ANSWER: dict[str, Any] = {
    "current": 1,
    "data": [
        {
            "create_at": 1652878011643,
            "name": "123",
            "namespace": "cnnorth7-infer-model-dev",
            "update_at": 1652878531791,
            "version_count": 1,
        },
        {
            "create_at": 1671708630448,
            "name": "pytorch_1_8",
            "namespace": "op_svc_modelarts_container2",
            "update_at": 1671708630448,
            "version_count": 1,
        },
        {
            "create_at": 1671093486722,
            "name": "mock-service-python",
            "namespace": "mock-service1",
            "update_at": 1671093486722,
            "version_count": 1,
        },
    ],
    "pages": 1,
    "size": 3,
    "total": 3,
}

IMAGE_ANSWER: dict[str, Any] = {
    "arch": "x86_64",
    "create_at": 1638234504492,
    "description": "CPU and GPU general algorithm development and training, preconfigured with AI "
    "engine PyTorch1.8",
    "dev_services": ["NOTEBOOK", "SSH"],
    "id": "278e88d1-5b71-4766-8502-b3ba72e824d9",
    "name": "pytorch1.8-cuda10.2-cudnn7-ubuntu18.04",
    "resource_categories": ["GPU", "CPU"],
    "service_type": "COMMON",
    "status": "ACTIVE",
    "swr_path": (
        "swr.xxx.com/atelier/pytorch_1_8:"
        "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64-20220926104358-041ba2e"
    ),
    "tag": "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64-20220926104358-041ba2e",
    "type": "BUILD_IN",
    "update_at": 1638234504492,
    "workspace_id": "0",
}

DELETE_IMAGE_ANSWER: dict[str, Any] = {
    "arch": "x86_64",
    "create_at": 1671093486722,
    "description": "",
    "dev_services": ["NOTEBOOK", "SSH"],
    "id": "c9ab2b2f-edda-4556-bdbb-494e868d043c",
    "name": "mock-service-python",
    "namespace": "mock-service1",
    "origin": "CUSTOMIZE",
    "resource_categories": ["CPU"],
    "service_type": "UNKNOWN",
    "size": 387840321,
    "status": "DELETED",
    "swr_path": "swr.xxx.com/mock-service1/mock-service-python:0.0.17",
    "tag": "0.0.17",
    "type": "DEDICATED",
    "update_at": 1671093486722,
    "visibility": "PRIVATE",
    "workspace_id": "0",
}


def wire(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


_DROP = object()


def patched(body: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    """A deep copy of body with the key at path set to value (or removed, for _DROP)."""
    result = copy.deepcopy(body)
    target = result
    for key in path[:-1]:
        target = target.setdefault(key, {})
    if value is _DROP:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return result


# -- request bodies: the reference's examples -----------------------------------------------
def test_create_example_parses_with_enumerations_upper_cased() -> None:
    body = NotebookCreate.model_validate(CREATE_REQUEST)
    assert (body.volume.category, body.volume.ownership, body.volume.capacity) == (
        "EVS",
        "MANAGED",
        50,
    )
    assert body.feature == "NOTEBOOK"
    expected = patched(CREATE_REQUEST, ("volume", "category"), "EVS")
    expected["volume"]["ownership"] = "MANAGED"
    assert wire(body) == expected


def test_create_defaults() -> None:
    body = NotebookCreate.model_validate(
        {
            "name": "nb",
            "flavor": "modelarts.vm.cpu.2u",
            "image_id": "e1a07296-22a8-4f05-8bc8-e936c8e54090",
            "volume": {"category": "EVS", "ownership": "MANAGED"},
        }
    )
    assert body.feature == "NOTEBOOK"
    assert body.workspace_id == "0"
    assert body.volume.capacity is None
    assert body.effective_lease().duration is None
    assert body.effective_lease().type == "TIMING"


def test_create_every_section() -> None:
    body = NotebookCreate.model_validate(
        {
            **CREATE_REQUEST,
            "name": "\u5f00\u53d1-nb_1",
            "pool_id": "pool41664192",
            "endpoints": [
                {"service": "ssh", "key_pair_names": ["kp-1"], "allowed_access_ips": ["1.1.1.1"]}
            ],
            "hooks": {
                "container_hooks": {
                    "pre_start": {"script": "/home/ma-user/pre.sh"},
                    "post_start": {"script": "ZWNobyBoaQ==", "type": "command", "mode": "block"},
                }
            },
            "lease": {"duration": 7200000, "type": "idle"},
            "volume": {"category": "efs", "ownership": "dedicated", "uri": "a:/b", "id": "efs-1"},
            "unknown_field": "ignored",
        }
    )
    assert body.endpoints is not None and body.endpoints[0].service == "SSH"
    assert body.hooks is not None and body.hooks.container_hooks is not None
    pre, post = body.hooks.container_hooks.pre_start, body.hooks.container_hooks.post_start
    assert pre is not None and pre.type == "SCRIPT" and pre.mode is None
    assert post is not None and (post.type, post.mode) == ("COMMAND", "BLOCK")
    assert body.effective_lease().model_dump() == {"duration": 7200000, "type": "IDLE"}
    assert body.volume.ownership == "DEDICATED"
    assert "unknown_field" not in wire(body)


def test_top_level_duration_wins_over_lease() -> None:
    body = NotebookCreate.model_validate(
        {**CREATE_REQUEST, "duration": 3600000, "lease": {"duration": 7200000, "type": "IDLE"}}
    )
    assert body.effective_lease().model_dump() == {"duration": 3600000, "type": "TIMING"}


def test_update_example_parses() -> None:
    body = NotebookUpdate.model_validate(UPDATE_REQUEST)
    assert wire(body) == UPDATE_REQUEST
    full = NotebookUpdate.model_validate(
        {
            "name": "renamed",
            "description": "it's fine here",
            "flavor": "modelarts.vm.cpu.8u",
            "image_id": "278e88d1-5b71-4766-8502-b3ba72e824d9",
            "storage_new_size": 100,
            "endpoints": [{"service": "NOTEBOOK"}],
            "hooks": {"container_hooks": {"post_start": {"script": "/x.sh", "type": "SCRIPT"}}},
        }
    )
    assert full.storage_new_size == 100
    # The update page does not forbid the single quote.
    assert full.description == "it's fine here"


def test_prolong_example_parses() -> None:
    body = LeaseUpdate.model_validate(PROLONG_REQUEST)
    assert (body.duration, body.type) == (3600000, "TIMING")
    assert LeaseUpdate.model_validate({}).type == "TIMING"


def test_mount_example_parses() -> None:
    body = StorageMount.model_validate(MOUNT_REQUEST)
    assert wire(body) == MOUNT_REQUEST
    assert StorageMount.model_validate({}).category == "OBS"
    assert StorageMount.model_validate({"category": "obsfs"}).category == "OBSFS"


def test_save_image_example_parses() -> None:
    body = NotebookImageSave.model_validate(SAVE_IMAGE_REQUEST)
    assert wire(body) == SAVE_IMAGE_REQUEST


def test_register_example_parses() -> None:
    body = ImageRegister.model_validate(REGISTER_REQUEST)
    assert body.resource_category == ["CPU"]
    assert (body.arch, body.origin, body.visibility, body.workspace_id) == (
        "X86_64",
        "CUSTOMIZE",
        "PRIVATE",
        "0",
    )
    assert wire(body).items() >= REGISTER_REQUEST.items()
    lower = ImageRegister.model_validate(
        {**REGISTER_REQUEST, "arch": "aarch64", "services": ["ssh"], "service_type": "dev"}
    )
    assert (lower.arch, lower.services, lower.service_type) == ("AARCH64", ["SSH"], "DEV")


# -- request bodies: what is refused --------------------------------------------------------
def _cases(base: dict[str, Any], changes: list[tuple[tuple[str, ...], object]]) -> list[Any]:
    return [
        pytest.param(
            patched(base, path, value),
            id=f"{'.'.join(path)}=" + ("<missing>" if value is _DROP else str(value)[:20]),
        )
        for path, value in changes
    ]


BAD_CREATES = _cases(
    CREATE_REQUEST,
    [
        (("name",), "bad name!"),
        (("name",), ""),
        (("name",), "n" * 129),
        (("name",), "a/b"),
        (("name",), 12),
        (("description",), "d" * 513),
        *((("description",), f"a{c}b") for c in "&<>\"'/"),
        (("feature",), "PAID"),
        (("flavor",), ""),
        (("volume", "category"), "NFS"),
        (("volume", "ownership"), "SHARED"),
        (("volume", "capacity"), 0),
        (("volume", "capacity"), 4097),
        # DEDICATED needs an EFS with its uri and id.
        (("volume", "ownership"), "DEDICATED"),
        (("volume",), {"category": "EFS", "ownership": "DEDICATED", "id": "efs-1"}),
        (("flavor",), _DROP),
        (("image_id",), _DROP),
        (("name",), _DROP),
        (("volume",), _DROP),
        (("volume", "category"), _DROP),
        (("volume", "ownership"), _DROP),
        (("endpoints",), [{"service": "FTP"}]),
        (("endpoints",), [{"allowed_access_ips": ["1.1.1.1"] * 6}]),
        (("lease",), {"type": "forever"}),
        (("lease",), {"duration": 0}),
        (("duration",), 0),
        (("duration",), "soon"),
        (("hooks",), {"container_hooks": {"pre_start": {"type": "BINARY"}}}),
        (("hooks",), {"container_hooks": {"pre_start": {"mode": "LATER"}}}),
    ],
)


@pytest.mark.parametrize("body", BAD_CREATES)
def test_bad_create_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NotebookCreate.model_validate(body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "n" * 128),
        (("name",), "A-z_09"),
        (("description",), "d" * 512),
        (("description",), ""),
        (("volume", "capacity"), 4096),
        (("volume",), {"category": "SFS", "ownership": "DEDICATED", "uri": "u", "id": "i"}),
    ],
)
def test_create_bounds_are_inclusive(path: tuple[str, ...], value: object) -> None:
    NotebookCreate.model_validate(patched(CREATE_REQUEST, path, value))


BAD_UPDATES = _cases(
    UPDATE_REQUEST,
    [
        (("name",), "bad name"),
        (("name",), "n" * 129),
        (("description",), "d" * 513),
        (("description",), "a/b"),
        (("description",), "a<b"),
        (("storage_new_size",), 4097),
        (("storage_new_size",), 0),
        (("endpoints",), [{"service": "FTP"}]),
        (("hooks",), {"container_hooks": {"post_start": {"type": "BINARY"}}}),
    ],
)


@pytest.mark.parametrize("body", BAD_UPDATES)
def test_bad_update_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NotebookUpdate.model_validate(body)


@pytest.mark.parametrize(
    "body", [{"type": "forever"}, {"duration": 0}, {"duration": "long"}, {"duration": -1}]
)
def test_bad_lease_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LeaseUpdate.model_validate(body)


BAD_MOUNTS = _cases(
    MOUNT_REQUEST,
    [
        (("mount_path",), "/home/ma-user/work/x/"),
        (("mount_path",), "/data/"),
        (("mount_path",), "/data"),
        (("mount_path",), "data/x/"),
        (("mount_path",), "/data/../etc/"),
        (("mount_path",), "/data/" + "x" * 256),
        (("category",), "NFS"),
        (("uri",), ""),
        (("uri",), "obs://" + "x" * 256),
    ],
)


@pytest.mark.parametrize("body", BAD_MOUNTS)
def test_bad_mount_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        StorageMount.model_validate(body)


BAD_REGISTERS = _cases(
    REGISTER_REQUEST,
    [
        (("swr_path",), _DROP),
        (("swr_path",), "swr.xxx.com/ns/name"),
        (("swr_path",), "a/b:c"),
        (("swr_path",), "swr.xxx.com/ns/na me:tag"),
        (("arch",), "ARM"),
        (("resource_category",), ["TPU"]),
        (("resource_category",), "CPU"),
        (("services",), ["FTP"]),
        (("visibility",), "SHARED"),
        (("origin",), "UPLOAD"),
        (("service_type",), "BATCH"),
        (("description",), "d" * 513),
    ],
)


@pytest.mark.parametrize("body", BAD_REGISTERS)
def test_bad_register_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ImageRegister.model_validate(body)


BAD_SAVES = _cases(
    SAVE_IMAGE_REQUEST,
    [
        (("name",), "PyTorch"),
        (("name",), "n" * 513),
        (("tag",), "bad tag"),
        (("tag",), "t" * 65),
        (("namespace",), "1atelier"),
        (("description",), "d" * 513),
    ],
)


@pytest.mark.parametrize("body", BAD_SAVES)
def test_bad_save_image_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NotebookImageSave.model_validate(body)


# -- query strings --------------------------------------------------------------------------
def test_notebook_list_query_defaults_and_spellings() -> None:
    query = NotebookListQuery.model_validate({})
    assert (query.limit, query.offset, query.sort_dir) == (10, 0, "DESC")
    assert query.feature is None and query.status is None and query.workspace_id is None
    # The reference's workspaceId and the SDK's workspace_id are the same parameter.
    assert NotebookListQuery.model_validate({"workspaceId": "ws1"}).workspace_id == "ws1"
    assert NotebookListQuery.model_validate({"workspace_id": "ws2"}).workspace_id == "ws2"
    lower = NotebookListQuery.model_validate(
        {"sort_dir": "asc", "status": "running", "feature": "default", "billing": "all"}
    )
    assert (lower.sort_dir, lower.status, lower.feature, lower.billing) == (
        "ASC",
        "RUNNING",
        "DEFAULT",
        "ALL",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"sort_dir": "UP"},
        {"sort_key": "name;drop"},
        {"status": "SLEEPING"},
        {"feature": "PAID"},
        {"owner": "NOT-A-USER-ID"},
        {"name": "bad name"},
        {"name": "n" * 129},
        {"ip": "host"},
        {"billing": "FREE"},
    ],
)
def test_bad_notebook_list_queries_are_refused(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NotebookListQuery.model_validate(params)


def test_flavor_queries() -> None:
    query = NotebookFlavorQuery.model_validate({"category": "gpu", "type": "managed"})
    assert (query.category, query.type, query.limit, query.offset) == ("GPU", "MANAGED", None, 0)
    switchable = SwitchableFlavorQuery.model_validate({})
    assert (switchable.limit, switchable.offset, switchable.sort_dir) == (None, 0, "DESC")
    for bad in ({"category": "TPU"}, {"type": "SHARED"}, {"limit": 0}, {"offset": -1}):
        with pytest.raises(ValidationError):
            NotebookFlavorQuery.model_validate(bad)
    with pytest.raises(ValidationError):
        SwitchableFlavorQuery.model_validate({"limit": 0})


def test_start_and_lease_queries() -> None:
    start = NotebookStartQuery.model_validate({"duration": "3600000", "type": "idle"})
    assert (start.duration, start.type) == (3600000, "IDLE")
    assert NotebookStartQuery.model_validate({}).type is None
    assert LeaseQuery.model_validate({"duration": 7200000}).duration == 7200000
    for bad in ({"type": "forever"}, {"duration": 0}):
        with pytest.raises(ValidationError):
            NotebookStartQuery.model_validate(bad)
    with pytest.raises(ValidationError):
        LeaseQuery.model_validate({"duration": "x"})


def test_image_queries() -> None:
    query = ImageListQuery.model_validate({})
    assert (query.limit, query.offset, query.name_fuzzy_match, query.sort_dir) == (
        200,
        0,
        True,
        "DESC",
    )
    assert query.type is None
    typed = ImageListQuery.model_validate(
        {"type": "dedicated", "service_type": "train", "name_fuzzy_match": "false"}
    )
    assert (typed.type, typed.service_type, typed.name_fuzzy_match) == (
        "DEDICATED",
        "TRAIN",
        False,
    )
    for bad in (
        {"limit": 0},
        {"offset": -1},
        {"type": "SHARED"},
        {"service_type": "BATCH"},
        {"name": "Bad Name"},
    ):
        with pytest.raises(ValidationError):
            ImageListQuery.model_validate(bad)
    group = ImageGroupQuery.model_validate({})
    assert (group.limit, group.offset, group.name_fuzzy_match, group.type) == (200, 0, True, None)
    with pytest.raises(ValidationError):
        ImageGroupQuery.model_validate({"type": "SHARED"})
    assert ImageDeleteQuery.model_validate({}).force is False
    assert ImageDeleteQuery.model_validate({"force": "true"}).force is True
    assert ImageDeleteBody.model_validate({"is_force": True}).is_force is True


async def test_query_models_work_as_fastapi_query_parameters() -> None:
    app = FastAPI()

    @app.get("/notebooks")
    async def notebooks(query: Annotated[NotebookListQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    @app.get("/images")
    async def images(query: Annotated[ImageListQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get(
            "/notebooks", params={"workspaceId": "ws1", "limit": "20", "status": "running"}
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "limit": 20,
            "offset": 0,
            "sort_dir": "DESC",
            "status": "RUNNING",
            "workspace_id": "ws1",
        }
        sdk_spelling = await client.get("/notebooks", params={"workspace_id": "ws2"})
        assert sdk_spelling.json()["workspace_id"] == "ws2"
        assert (await client.get("/notebooks", params={"limit": "0"})).status_code == 422
        listed = await client.get("/images", params={"name_fuzzy_match": "false"})
        assert listed.json()["name_fuzzy_match"] is False


def test_status_tuples_hold_every_documented_status() -> None:
    assert NOTEBOOK_STATUSES == (
        "INIT",
        "CREATING",
        "STARTING",
        "STOPPING",
        "DELETING",
        "RUNNING",
        "STOPPED",
        "SNAPSHOTTING",
        "CREATE_FAILED",
        "START_FAILED",
        "DELETE_FAILED",
        "ERROR",
        "DELETED",
        "FROZEN",
    )
    assert set(MOUNT_STATUSES) == {
        "MOUNTING",
        "MOUNT_FAILED",
        "MOUNTED",
        "UNMOUNTING",
        "UNMOUNT_FAILED",
        "UNMOUNTED",
    }
    assert set(IMAGE_STATUSES) == {
        "INIT",
        "CREATING",
        "CREATE_FAILED",
        "ERROR",
        "DELETED",
        "ACTIVE",
    }
    assert LEASE_TYPES == ("TIMING", "IDLE")


# -- answers: the SDK reads every key we send -----------------------------------------------
_NOTEBOOK_ANSWERS = (
    "NotebookResp",
    "CreateNotebookResponse",
    "ShowNotebookResponse",
    "UpdateNotebookResponse",
    "DeleteNotebookResponse",
    "StartNotebookResponse",
    "StopNotebookResponse",
)
# Keys the reference documents that the SDK's model lacks; the SDK skips them.
REFERENCE_ONLY: dict[str, set[str]] = {
    "EndpointsRes": {"allowed_access_ips", "ssh_keys"},
    "JobProgress": {"notebook_id", "step_description"},
    "ImageResponse": {"support_res_categories"},
    # Top-level times of the delete example.
    **{name: {"create_at", "update_at"} for name in _NOTEBOOK_ANSWERS},
}
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}


def _check_against_sdk(value: Any, sdk_type: str, path: str) -> None:
    """Fails where a dumped key is unknown to the SDK's model, or a value's JSON type is
    not the one the SDK decodes it as."""
    if sdk_type.startswith("list["):
        assert isinstance(value, list), f"{path}: SDK expects a list"
        for i, item in enumerate(value):
            _check_against_sdk(item, sdk_type[5:-1], f"{path}[{i}]")
        return
    if sdk_type.startswith("dict("):
        assert isinstance(value, dict), f"{path}: SDK expects a map"
        return
    if sdk_type == "object":
        return
    if sdk_type in _PRIMITIVES:
        wanted = _PRIMITIVES[sdk_type]
        assert isinstance(value, wanted), f"{path}: SDK expects {sdk_type}, got {value!r}"
        assert sdk_type == "bool" or not isinstance(value, bool), f"{path}: a bool for {sdk_type}"
        return
    cls = getattr(sdk, sdk_type)
    assert isinstance(value, dict), f"{path}: SDK expects an object {sdk_type}"
    by_key = {key: attr for attr, key in cls.attribute_map.items()}
    for key, item in value.items():
        if key in REFERENCE_ONLY.get(sdk_type, set()):
            continue
        assert key in by_key, f"{path}.{key} unknown to SDK {sdk_type}"
        _check_against_sdk(item, cls.openapi_types[by_key[key]], f"{path}.{key}")


def _known_to_sdk(value: Any, sdk_type: str) -> Any:
    """value without the reference-only keys, i.e. what the SDK can give back."""
    if sdk_type.startswith("list["):
        return [_known_to_sdk(item, sdk_type[5:-1]) for item in value]
    cls = getattr(sdk, sdk_type, None)
    if cls is None or not isinstance(value, dict) or not getattr(cls, "openapi_types", None):
        return value
    by_key = {key: attr for attr, key in cls.attribute_map.items()}
    return {
        key: _known_to_sdk(item, cls.openapi_types[by_key[key]])
        for key, item in value.items()
        if key in by_key
    }


def sdk_reads(body: dict[str, Any], response_type: str) -> Any:
    """What the SDK makes of an answer body, without a network round trip."""
    client = Client()
    client.model_package = sdk
    return client._deserialize(body, response_type)


def _assert_sdk_decodes(body: dict[str, Any], sdk_type: str) -> None:
    _check_against_sdk(body, sdk_type, "$")
    read = sanitize_for_serialization(sdk_reads(body, sdk_type))
    assert read == _known_to_sdk(body, sdk_type)


ANSWERS = [
    (NotebookOut, CREATE_ANSWER, "CreateNotebookResponse"),
    (NotebookPage, LIST_ANSWER, "ListNotebooksResponse"),
    (NotebookPage, LIST_ANSWER, "ListAllNotebooksResponse"),
    (NotebookOut, SHOW_ANSWER, "ShowNotebookResponse"),
    (NotebookOut, UPDATE_ANSWER, "UpdateNotebookResponse"),
    (NotebookOut, DELETE_ANSWER, "DeleteNotebookResponse"),
    (NotebookOut, START_ANSWER, "StartNotebookResponse"),
    (NotebookOut, STOP_ANSWER, "StopNotebookResponse"),
    (ImageOut, SAVE_IMAGE_ANSWER, "CreateImageResponse"),
    (NotebookFlavorPage, FLAVORS_ANSWER, "ListFlavorsResponse"),
    (NotebookFlavorPage, SWITCHABLE_FLAVORS_ANSWER, "ShowSwitchableFlavorsResponse"),
    (LeaseOut, LEASE_ANSWER, "ShowLeaseResponse"),
    (LeaseOut, PROLONG_ANSWER, "RenewLeaseResponse"),
    (StorageOut, MOUNT_ANSWER, "AttachDynamicStorageResponse"),
    (StoragePage, STORAGE_LIST_ANSWER, "ListDynamicStoragesResponse"),
    (StorageOut, STORAGE_ANSWER, "ShowDynamicStorageResponse"),
    (StorageOut, UNMOUNT_ANSWER, "DetachDynamicStorageResponse"),
    (ImagePage, IMAGE_LIST_ANSWER, "ListImageResponse"),
    (ImageOut, REGISTER_ANSWER, "RegisterImageResponse"),
    (ImageGroupPage, IMAGE_GROUPS_ANSWER, "ListImageGroupResponse"),
    (ImageOut, IMAGE_ANSWER, "ShowImageResponse"),
    (ImageOut, DELETE_IMAGE_ANSWER, "DeleteImageResponse"),
]


@pytest.mark.parametrize(("model", "example", "sdk_type"), ANSWERS, ids=[a[2] for a in ANSWERS])
def test_reference_answers_round_trip_and_the_sdk_decodes_them(
    model: type[BaseModel], example: dict[str, Any], sdk_type: str
) -> None:
    body = wire(model.model_validate(example))
    assert body == example
    _assert_sdk_decodes(body, sdk_type)


def _sample(annotation: Any) -> Any:
    """A value of the annotation's type, with every field of a model filled in."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(arg for arg in args if arg is not type(None)))
    if origin is list:
        return [_sample(args[0])]
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _full(annotation)
    samples: dict[Any, Any] = {str: "x", int: 7, float: 1.5, bool: True}
    return samples[annotation]


def _full(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _sample(field.annotation) for name, field in model.model_fields.items()}


FULL_ANSWERS = [
    (NotebookOut, "NotebookResp"),
    *((NotebookOut, name) for name in _NOTEBOOK_ANSWERS),
    (NotebookPage, "ListNotebooksResponse"),
    (NotebookPage, "ListAllNotebooksResponse"),
    (NotebookFlavorOut, "NotebookFlavor"),
    (NotebookFlavorPage, "ListFlavorsResponse"),
    (NotebookFlavorPage, "ShowSwitchableFlavorsResponse"),
    (LeaseOut, "Lease"),
    (LeaseOut, "ShowLeaseResponse"),
    (LeaseOut, "RenewLeaseResponse"),
    (StorageOut, "DataVolumesRes"),
    (StorageOut, "AttachDynamicStorageResponse"),
    (StorageOut, "ShowDynamicStorageResponse"),
    (StorageOut, "DetachDynamicStorageResponse"),
    (StoragePage, "ListDynamicStoragesResponse"),
    (ImageOut, "Image"),
    (ImageOut, "ImageResponse"),
    (ImageOut, "CreateImageResponse"),
    (ImageOut, "RegisterImageResponse"),
    (ImageOut, "ShowImageResponse"),
    (ImageOut, "DeleteImageResponse"),
    (ImagePage, "ListImageResponse"),
    (ImageGroupOut, "ImageGroup"),
    (ImageGroupPage, "ListImageGroupResponse"),
]


@pytest.mark.parametrize(
    ("model", "sdk_type"), FULL_ANSWERS, ids=[f"{m.__name__}-{t}" for m, t in FULL_ANSWERS]
)
def test_every_answer_field_is_one_the_sdk_decodes(model: type[BaseModel], sdk_type: str) -> None:
    body = wire(model.model_validate(_full(model)))
    _assert_sdk_decodes(body, sdk_type)


def test_sdk_answer_fields_are_all_covered() -> None:
    """Every key the SDK reads in a notebook, image or flavor answer has a field here."""
    pairs: list[tuple[type[BaseModel], str]] = [
        (NotebookOut, "NotebookResp"),
        (ImageOut, "Image"),
        (NotebookFlavorOut, "NotebookFlavor"),
        (StorageOut, "DataVolumesRes"),
        (LeaseOut, "Lease"),
        (ImageGroupOut, "ImageGroup"),
        (ImageGroupPage, "ListImageGroupResponse"),
        (NotebookFlavorPage, "ListFlavorsResponse"),
    ]
    for model, sdk_type in pairs:
        missing = set(getattr(sdk, sdk_type).attribute_map.values()) - set(model.model_fields)
        assert not missing, f"{model.__name__} lacks {sorted(missing)} of {sdk_type}"


# -- requests: the SDK's bodies parse, and our names are the SDK's --------------------------
REQUEST_PAIRS = [
    (NotebookCreate, "NotebookCreateRequest"),
    (NotebookUpdate, "NotebookUpdateRequest"),
    (LeaseUpdate, "LeaseReq"),
    (StorageMount, "DataVolumesReq"),
    (NotebookImageSave, "ImageCreateReq"),
    (ImageRegister, "ImageRegRequest"),
    (ImageDeleteBody, "DeleteImageRequestBody"),
    (NotebookListQuery, "ListNotebooksRequest"),
    (NotebookListQuery, "ListAllNotebooksRequest"),
    (NotebookFlavorQuery, "ListFlavorsRequest"),
    (SwitchableFlavorQuery, "ShowSwitchableFlavorsRequest"),
    (NotebookStartQuery, "StartNotebookRequest"),
    (LeaseQuery, "RenewLeaseRequest"),
    (ImageListQuery, "ListImageRequest"),
    (ImageGroupQuery, "ListImageGroupRequest"),
]


@pytest.mark.parametrize(("model", "sdk_type"), REQUEST_PAIRS, ids=[t for _, t in REQUEST_PAIRS])
def test_request_field_names_are_the_sdks(model: type[BaseModel], sdk_type: str) -> None:
    unknown = set(model.model_fields) - set(getattr(sdk, sdk_type).attribute_map.values())
    assert not unknown


def test_nested_request_field_names_are_the_sdks() -> None:
    create = NotebookCreate.model_fields
    pairs = {
        "EndpointsReq": typing.get_args(create["endpoints"].annotation)[0],
        "VolumeMountRequest": create["volume"].annotation,
        "CustomHooks": typing.get_args(create["hooks"].annotation)[0],
        "LeaseReq": typing.get_args(create["lease"].annotation)[0],
    }
    for sdk_type, annotation in pairs.items():
        model = typing.get_args(annotation)[0] if typing.get_origin(annotation) else annotation
        known = set(getattr(sdk, sdk_type).attribute_map.values())
        # allowed_access_ips is the reference's; the SDK never sends it.
        assert set(model.model_fields) - known <= {"allowed_access_ips"}, sdk_type


def test_bodies_the_sdk_sends_parse() -> None:
    create = sdk.NotebookCreateRequest(
        name="sdk-nb",
        flavor="modelarts.vm.cpu.2u",
        image_id="e1a07296-22a8-4f05-8bc8-e936c8e54090",
        description="from the SDK",
        feature="NOTEBOOK",
        workspace_id="0",
        volume=sdk.VolumeMountRequest(category="EVS", ownership="MANAGED", capacity=5),
        endpoints=[sdk.EndpointsReq(service="SSH", key_pair_names=["kp-1"])],
        hooks=sdk.CustomHooks(
            container_hooks=sdk.ContainerHooks(
                pre_start=sdk.Config(script="/home/ma-user/a.sh", type="SCRIPT", mode="ASYNC")
            )
        ),
        lease=sdk.LeaseReq(duration=3600000, type="TIMING"),
    )
    sent = sanitize_for_serialization(create)
    assert wire(NotebookCreate.model_validate(sent)) == sent
    update = sanitize_for_serialization(
        sdk.NotebookUpdateRequest(name="renamed", storage_new_size=20, flavor="f")
    )
    assert wire(NotebookUpdate.model_validate(update)) == update
    mount = sanitize_for_serialization(
        sdk.DataVolumesReq(category="OBSFS", mount_path="/data/a/", uri="obs://b/a/")
    )
    assert wire(StorageMount.model_validate(mount)) == mount
    register = sanitize_for_serialization(
        sdk.ImageRegRequest(
            swr_path="swr.example.com/ns/img:1.0",
            arch="X86_64",
            origin="CUSTOMIZE",
            resource_category=["CPU", "GPU"],
            service_type="DEV",
            services=["NOTEBOOK", "SSH"],
            visibility="PRIVATE",
            workspace_id="0",
        )
    )
    assert wire(ImageRegister.model_validate(register)) == register
    save = sanitize_for_serialization(
        sdk.ImageCreateReq(name="img", namespace="atelier", tag="v1", description="d")
    )
    assert wire(NotebookImageSave.model_validate(save)) == save
