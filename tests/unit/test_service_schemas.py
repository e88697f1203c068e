"""Inference service wire shapes against the reference's Service Management pages: the
examples parse, every documented rule refuses what breaks it with a message naming the
field, and the defaults are the documented ones."""

from __future__ import annotations

import copy
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, ValidationError

from openarts.domain.service_rules import service_problem, update_problem
from openarts.schemas.services import (
    CONFIG_STATUSES,
    INFER_TYPES,
    LOAD_BALANCER_POLICIES,
    SERVICE_STATUSES,
    SMN_EVENT_STATUSES,
    TARGET_STATUSES,
    TIME_UNITS,
    MonitorOut,
    Schedule,
    ServiceConfig,
    ServiceConfigOut,
    ServiceCreate,
    ServiceDeleteOut,
    ServiceDeployOut,
    ServiceEventsOut,
    ServiceEventsQuery,
    ServiceListOut,
    ServiceListQuery,
    ServiceLogsOut,
    ServiceLogsQuery,
    ServiceMonitorOut,
    ServiceMonitorQuery,
    ServiceOut,
    ServiceSummaryOut,
    ServiceUpdate,
    ServiceUpdateOut,
    SpecificationListOut,
    SpecificationOut,
    SpecificationQuery,
    infer_address,
    split_service_ids,
)

# -- the reference's examples, as the pages give them --------------------------------------
REAL_TIME_REQUEST: dict[str, Any] = {
    "infer_type": "real-time",
    "service_name": "mnist",
    "description": "mnist service",
    "config": [
        {
            "specification": "modelarts.vm.cpu.2u",
            "weight": 100,
            "model_id": "0e07b41b-173e-42db-8c16-8e1b44cc0d44",
            "instance_count": 1,
        }
    ],
}

MULTI_VERSION_REQUEST: dict[str, Any] = {
    "service_name": "mnist",
    "description": "mnist service",
    "infer_type": "real-time",
    "config": [
        {
            "model_id": "xxxmodel-idxxx",
            "weight": "70",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
            "envs": {"model_name": "mxnet-model-1", "load_epoch": "0"},
        },
        {
            "model_id": "xxxxxx",
            "weight": "30",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
        },
    ],
}

CUSTOM_SPEC_REQUEST: dict[str, Any] = {
    "service_name": "realtime-demo",
    "description": "",
    "infer_type": "real-time",
    "cluster_id": "8abf68a969c3cb3a0169c4acb24b0000",
    "config": [
        {
            "model_id": "eb6a4a8c-5713-4a27-b8ed-c7e694499af5",
            "weight": "100",
            "cluster_id": "8abf68a969c3cb3a0169c4acb24b0000",
            "specification": "custom",
            "custom_spec": {"cpu": 1.5, "memory": 7500},
            "instance_count": 1,
        }
    ],
}

AUTO_STOP_REQUEST: dict[str, Any] = {
    "service_name": "service-demo",
    "description": "demo",
    "infer_type": "real-time",
    "config": [
        {
            "model_id": "xxxmodel-idxxx",
            "weight": "100",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
        }
    ],
    "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 1}],
}

BATCH_FILE_REQUEST: dict[str, Any] = {
    "service_name": "batchservicetest",
    "description": "",
    "infer_type": "batch",
    "cluster_id": "8abf68a969c3cb3a0169c4acb24b****",
    "config": [
        {
            "model_id": "598b913a-af3e-41ba-a1b5-bf065320f1e2",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
            "src_path": "https://infers-data.obs.xxxxx.com/xgboosterdata/",
            "dest_path": "https://infers-data.obs.xxxxx.com/output/",
            "req_uri": "/",
            "mapping_type": "file",
        }
    ],
}


def _csv_input(index: int) -> dict[str, Any]:
    return {"type": "number", "index": index}


BATCH_CSV_REQUEST: dict[str, Any] = {
    "service_name": "batchservicetest",
    "description": "",
    "infer_type": "batch",
    "config": [
        {
            "model_id": "598b913a-af3e-41ba-a1b5-bf065320f1e2",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
            "src_path": "https://infers-data.obs.xxxxx.com/xgboosterdata/",
            "dest_path": "https://infers-data.obs.xxxxx.com/output/",
            "req_uri": "/",
            "mapping_type": "csv",
            "mapping_rule": {
                "type": "object",
                "properties": {
                    "data": {
                        "type": "object",
                        "properties": {
                            "req_data": {
                                "type": "array",
                                "items": [
                                    {
                                        "type": "object",
                                        "properties": {
                                            "input5": _csv_input(0),
                                            "input4": _csv_input(1),
                                            "input3": _csv_input(2),
                                            "input2": _csv_input(3),
                                            "input1": _csv_input(4),
                                        },
                                    }
                                ],
                            }
                        },
                    }
                },
            },
        }
    ],
}

EDGE_REQUEST: dict[str, Any] = {
    "service_name": "service-edge-demo",
    "description": "",
    "infer_type": "edge",
    "config": [
        {
            "model_id": "eb6a4a8c-5713-4a27-b8ed-c7e694499af5",
            "specification": "custom",
            "instance_count": 1,
            "custom_spec": {"cpu": 1.5, "memory": 7500},
            "envs": {},
            "nodes": ["2r8c4fb9-t497-40u3-89yf-skui77db0472"],
        }
    ],
}

CREATE_REQUESTS = [
    pytest.param(REAL_TIME_REQUEST, id="real-time"),
    pytest.param(MULTI_VERSION_REQUEST, id="multi-version"),
    pytest.param(CUSTOM_SPEC_REQUEST, id="custom-spec"),
    pytest.param(AUTO_STOP_REQUEST, id="auto-stop"),
    pytest.param(BATCH_FILE_REQUEST, id="batch-file"),
    pytest.param(BATCH_CSV_REQUEST, id="batch-csv"),
    pytest.param(EDGE_REQUEST, id="edge"),
]

DEPLOY_ANSWER: dict[str, Any] = {
    "service_id": "10eb0091-887f-4839-9929-cbc884f1e20e",
    "resource_ids": ["INF-f878991839647358@1598319442708"],
}

UPDATE_REQUEST: dict[str, Any] = {
    "description": "",
    "status": "running",
    "config": [
        {
            "model_id": "xxxx",
            "weight": "100",
            "specification": "modelarts.vm.cpu.2u",
            "instance_count": 1,
        }
    ],
}

LIST_ANSWER: dict[str, Any] = {
    "total_count": 1,
    "count": 1,
    "services": [
        {
            "failed_times": 1,
            "owner": "b575785bcece44beb23597770fb819f9",
            "infer_type": "real-time",
            "service_name": "mnist",
            "description": "",
            "project": "b575785bcece44beb23597770fb819f9",
            "invocation_times": 50,
            "publish_at": 1243143243,
            "workspace_id": 0,
            "is_shared": False,
            "service_id": "195c1f2d-136d-40af-a0f3-db5717d2634a",
            "shared_count": 0,
            "tenant": "b575785bcece44beb23597770fb819f9",
            "status": "running",
        }
    ],
}

DETAILS_ANSWER: dict[str, Any] = {
    "service_id": "f76f20ba-78f5-44e8-893a-37c8c600c02f",
    "service_name": "service-demo",
    "tenant": "xxxxx",
    "project": "xxxxx",
    "owner": "xxxxx",
    "publish_at": 1585809231902,
    "update_time": 1585809358259,
    "infer_type": "real-time",
    "status": "running",
    "progress": 100,
    "access_address": (
        "https://xxxxx.apigw.xxxxx.com/v1/infers/088458d9-5755-4110-97d8-1d21065ea10b/"
        "f76f20ba-78f5-44e8-893a-37c8c600c02f"
    ),
    "cluster_id": "088458d9-5755-4110-97d8-1d21065ea10b",
    "workspace_id": "0",
    "additional_properties": {},
    "is_shared": False,
    "invocation_times": 0,
    "failed_times": 0,
    "shared_count": 0,
    "operation_time": 1586249085447,
    "config": [
        {
            "model_id": "044ebf3d-8bf4-48df-bf40-bad0e664c1e2",
            "model_name": "jar-model",
            "model_version": "1.0.1",
            "specification": "custom",
            "custom_spec": {},
            "status": "notReady",
            "weight": 100,
            "instance_count": 1,
            "scaling": False,
            "envs": {},
            "additional_properties": {},
            "support_debug": False,
        }
    ],
    "transition_at": 1585809231902,
    "is_free": False,
}

MONITOR_ANSWER: dict[str, Any] = {
    "service_name": "mnist",
    "service_id": "195c1f2d-136d-40af-a0f3-db5717d2634a",
    "monitors": [
        {
            "failed_times": 1,
            "model_version": "1.0.0",
            "cpu_core_total": 4,
            "cpu_memory_total": 8192,
            "model_name": "minst",
            "gpu_usage": 0.6,
            "cpu_memory_usage": 2011,
            "gpu_total": 1,
            "model_id": "0e07b41b-173e-42db-8c16-8e1b44cc0d44",
            "invocation_times": 50,
            "cpu_core_usage": 2.4,
        }
    ],
}

LOGS_ANSWER: dict[str, Any] = {
    "service_name": "mnist",
    "service_id": "195c1f2d-136d-40af-a0f3-db5717d2634a",
    "logs": [
        {
            "result": "SUCCESS",
            "update_time": 1574770228888,
            "config": [
                {
                    "model_version": "0.0.1",
                    "specification": "modelarts.vm.cpu.2u",
                    "model_name": "minst",
                    "weight": 100,
                    "model_id": "0e07b41b-173e-42db-8c16-8e1b44cc0d44",
                    "instance_count": 1,
                }
            ],
        }
    ],
}

_EVENT_TEXTS = (
    "start to deploy service",
    "building image for model [TF 3.0.0]",
    "model (TF 3.0.0) build image success",
    "preparing environment",
    "[TF 3.0.0] prepare environment success",
    "[TF 3.0.0] schedule resource success",
    "[TF 3.0.0] pulling model image",
    "[TF 3.0.0] pull image success",
    "[TF 3.0.0] starting model",
)
_EVENT_TIMES = (
    1562597251764,
    1562597251788,
    1562597251805,
    1562597255744,
    1562597275915,
    1562597275921,
    1562597275928,
    1562597332570,
    1562597332582,
)
EVENTS_ANSWER: dict[str, Any] = {
    "service_name": "service-07085",
    "total_count": 9,
    "service_id": "35de3ca9-1bca-4ae7-9cb0-914f30fa7d3e",
    "count": 9,
    "events": [
        {"event_type": "normal", "event_info": text, "occur_time": when}
        for text, when in zip(_EVENT_TEXTS, _EVENT_TIMES, strict=True)
    ],
}

_NO_NPU: dict[str, Any] = {"unit": "MB", "npu": 0, "memory": 0}
SPECIFICATIONS_ANSWER: dict[str, Any] = {
    "total_count": 3,
    "count": 3,
    "specifications": [
        {
            "specification": "modelarts.vm.cpu.2u",
            "billing_spec": "modelarts.vm.cpu.2u",
            "category": "CPU",
            "cpu_info": {"arch": "x86", "cpu": 2.0},
            "memory_info": {"unit": "GB", "memory": 8},
            "gpu_info": {"unit": "MB", "gpu": 0.0, "memory": 0},
            "npu_info": _NO_NPU,
            "display_en": "CPU: 2 vCPUs | 8 GiB",
            "display_cn": "CPU: 2 Core 8 GiB",
            "is_open": True,
            "spec_status": "normal",
            "is_free": False,
            "over_quota": False,
            "extend_params": 1,
        },
        {
            "specification": "modelarts.vm.gpu.pnt004",
            "billing_spec": "modelarts.vm.gpu.pnt004",
            "category": "GPU",
            "cpu_info": {"arch": "x86", "cpu": 8.0},
            "memory_info": {"unit": "GB", "memory": 32},
            "gpu_info": {
                "unit": "GB",
                "brand": "NVIDIA",
                "version": "Pnt004",
                "gpu": 1.0,
                "memory": 16,
            },
            "npu_info": _NO_NPU,
            "display_en": "CPU: 8 vCPUs | 32 GiB GPU: Pnt004",
            "display_cn": "CPU: 8 cores 32 GiB GPU: 1 x Pnt004",
            "is_open": True,
            "spec_status": "normal",
            "is_free": False,
            "over_quota": False,
            "extend_params": 1,
        },
        {
            "specification": "modelarts.vm.ai1.snt3",
            "billing_spec": "modelarts.vm.ai1.snt3",
            "category": "NPU",
            "cpu_info": {"arch": "x86", "cpu": 2.0},
            "memory_info": {"unit": "GB", "memory": 8},
            "gpu_info": {"unit": "MB", "gpu": 0.0, "memory": 0},
            "display_en": "CPU: 2 vCPUs",
            "display_cn": "CPU: 2 cores",
            "is_open": False,
            "spec_status": "normal",
            "is_free": False,
            "over_quota": False,
            "extend_params": 1,
        },
    ],
}


# -- helpers ------------------------------------------------------------------------------
_DROP = object()


def wire(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def patched(body: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A deep copy of body with the item at path set to value (or removed, for _DROP)."""
    result = copy.deepcopy(body)
    target: Any = result
    for key in path[:-1]:
        target = target[key] if isinstance(key, int) else target.setdefault(key, {})
    if value is _DROP:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return result


def refusal(model: type[BaseModel], body: dict[str, Any]) -> str:
    """The text of the error that refuses body (locations and messages)."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return str(caught.value)


def _weights_as_numbers(body: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(body)
    for entry in result.get("config", []):
        if "weight" in entry:
            entry["weight"] = int(entry["weight"])
    return result


def _config(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "model_id": "m-1",
        "weight": 100,
        "specification": "modelarts.vm.cpu.2u",
        "instance_count": 1,
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not _DROP}


def _body(config: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"infer_type": "real-time", "service_name": "svc", "config": config}
    body.update(changes)
    return body


# -- deploy: the reference's examples -------------------------------------------------------
@pytest.mark.parametrize("example", CREATE_REQUESTS)
def test_deploy_examples_parse_and_round_trip(example: dict[str, Any]) -> None:
    body = ServiceCreate.model_validate(example)
    expected = {"workspace_id": "0", **_weights_as_numbers(example)}
    assert wire(body) == expected


def test_deploy_example_values() -> None:
    multi = ServiceCreate.model_validate(MULTI_VERSION_REQUEST)
    assert [entry.weight for entry in multi.config] == [70, 30]
    assert multi.config[0].envs == {"model_name": "mxnet-model-1", "load_epoch": "0"}
    custom = ServiceCreate.model_validate(CUSTOM_SPEC_REQUEST).config[0]
    assert custom.custom_spec is not None
    assert (custom.custom_spec.cpu, custom.custom_spec.memory) == (1.5, 7500)
    assert custom.custom_spec.gpu_p4 is None
    stop = ServiceCreate.model_validate(AUTO_STOP_REQUEST).schedule
    assert stop is not None and stop[0].seconds == 3600
    csv = ServiceCreate.model_validate(BATCH_CSV_REQUEST).config[0]
    assert csv.mapping_type == "csv" and csv.mapping_rule is not None
    edge = ServiceCreate.model_validate(EDGE_REQUEST)
    assert edge.infer_type == "edge" and edge.config[0].nodes == [
        "2r8c4fb9-t497-40u3-89yf-skui77db0472"
    ]


def test_deploy_defaults() -> None:
    body = ServiceCreate.model_validate(_body([_config()]))
    assert body.workspace_id == "0"
    for name in (
        "schedule",
        "cluster_id",
        "pool_name",
        "vpc_id",
        "description",
        "security_group_id",
        "subnet_network_id",
        "additional_properties",
        "load_balancer_policy",
        "service_secrets",
        "priority",
    ):
        assert getattr(body, name) is None, name
    entry = body.config[0]
    for name in (
        "custom_spec",
        "envs",
        "deploy_timeout_in_seconds",
        "src_path",
        "req_uri",
        "mapping_type",
        "cluster_id",
        "pool_name",
        "nodes",
        "mapping_rule",
        "src_type",
        "dest_path",
        "additional_properties",
        "affinity",
    ):
        assert getattr(entry, name) is None, name


def test_deploy_every_section() -> None:
    body = ServiceCreate.model_validate(
        _body(
            [
                _config(
                    model_id="m-1",
                    weight=60,
                    specification="custom",
                    custom_spec={"cpu": 0.015, "memory": 1024, "gpu_p4": 0.256},
                    deploy_timeout_in_seconds=600,
                    pool_name="pool-a",
                    envs={"MODEL_PATH": "/model", "THREADS": 4, "DEBUG": True},
                    additional_properties={
                        "log_volume": [{"host_path": "/var/log/x", "mount_path": "/logs"}],
                        "max_surge": 0.5,
                        "max_unavailable": 0,
                        "termination_grace_period_seconds": 30,
                        "persistent_volumes": [
                            {
                                "name": "vol",
                                "mount_path": "/data/cache",
                                "storage_type": "SFS_TURBO",
                                "source_address": "efs-1",
                            }
                        ],
                    },
                    affinity={
                        "node_affinity": {
                            "mode": "Required",
                            "pool_infos": [
                                {"pool_name": "pool-a", "nodes": [{"name": "192.168.0.1"}]}
                            ],
                        }
                    },
                ),
                _config(model_id="m-2", weight=40),
            ],
            workspace_id="ws-1",
            pool_name="pool-a",
            vpc_id="vpc-1",
            subnet_network_id="subnet-1",
            security_group_id="sg-1",
            schedule=[{"type": "STOP", "time_unit": "days", "duration": 2}],
            additional_properties={
                "smn_notification": {"topic_urn": "urn:smn:r:p:topic", "events": [1, 3, 7, 11]},
                "log_report_channels": [
                    {
                        "type": "lts",
                        "configuration": {"log_group_id": "g" * 36, "log_stream_id": "s" * 64},
                    }
                ],
                "websocket_upgrade": True,
            },
            load_balancer_policy="least_connections",
            service_secrets=[{"secretId": "sec-1", "mouthPath": "/secrets"}],
            priority=3,
            unknown_field="ignored",
        )
    )
    first = body.config[0]
    assert first.custom_spec is not None
    # Two decimals are kept.
    assert (first.custom_spec.cpu, first.custom_spec.gpu_p4) == (0.01, 0.26)
    assert first.envs == {"MODEL_PATH": "/model", "THREADS": "4", "DEBUG": "true"}
    assert first.affinity is not None and first.affinity.node_affinity is not None
    assert first.affinity.node_affinity.mode == "required"
    extras = first.additional_properties
    assert extras is not None and extras.persistent_volumes is not None
    assert extras.persistent_volumes[0].storage_type == "sfs_turbo"
    assert extras.max_unavailable == 0
    assert body.schedule is not None
    assert (body.schedule[0].type, body.schedule[0].time_unit) == ("stop", "DAYS")
    assert body.schedule[0].seconds == 2 * 86_400
    assert body.load_balancer_policy == "LEAST_CONNECTIONS"
    service_extras = body.additional_properties
    assert service_extras is not None and service_extras.log_report_channels is not None
    assert service_extras.log_report_channels[0].type == "LTS"
    assert service_extras.websocket_upgrade is True
    assert "unknown_field" not in wire(body)


def test_enumerations_are_taken_in_any_case() -> None:
    body = ServiceCreate.model_validate(
        _body([_config()], infer_type="Real-Time", load_balancer_policy="source_ip")
    )
    assert (body.infer_type, body.load_balancer_policy) == ("real-time", "SOURCE_IP")
    batch = ServiceCreate.model_validate(
        patched(
            patched(BATCH_FILE_REQUEST, ("infer_type",), "BATCH"),
            ("config", 0, "src_type"),
            "manifestfile",
        )
    )
    assert batch.infer_type == "batch" and batch.config[0].src_type == "ManifestFile"
    assert ServiceUpdate.model_validate({"status": "STOPPED"}).status == "stopped"


# -- deploy: what is refused, and where ----------------------------------------------------
def _case(base: dict[str, Any], path: tuple[str | int, ...], value: object, field: str) -> Any:
    shown = "<missing>" if value is _DROP else str(value)[:24]
    return pytest.param(patched(base, path, value), field, id=f"{'.'.join(map(str, path))}={shown}")


BAD_DEPLOYS = [
    # names
    _case(REAL_TIME_REQUEST, ("service_name",), "", "service_name"),
    _case(REAL_TIME_REQUEST, ("service_name",), "n" * 65, "service_name"),
    _case(REAL_TIME_REQUEST, ("service_name",), "my service", "service_name"),
    _case(REAL_TIME_REQUEST, ("service_name",), "a/b", "service_name"),
    _case(REAL_TIME_REQUEST, ("service_name",), 12, "service_name"),
    _case(REAL_TIME_REQUEST, ("service_name",), _DROP, "service_name"),
    # description: at most 100, none of !<>+&"'
    _case(REAL_TIME_REQUEST, ("description",), "d" * 101, "description"),
    *(_case(REAL_TIME_REQUEST, ("description",), f"a{c}b", "description") for c in "!<>+&\"'"),
    # inference type
    _case(REAL_TIME_REQUEST, ("infer_type",), "streaming", "infer_type"),
    _case(REAL_TIME_REQUEST, ("infer_type",), _DROP, "infer_type"),
    _case(REAL_TIME_REQUEST, ("infer_type",), 1, "infer_type"),
    # config list
    _case(REAL_TIME_REQUEST, ("config",), _DROP, "config"),
    _case(REAL_TIME_REQUEST, ("config",), [], "config"),
    _case(REAL_TIME_REQUEST, ("config",), {"model_id": "m"}, "config"),
    # config entries
    _case(REAL_TIME_REQUEST, ("config", 0, "model_id"), _DROP, "model_id"),
    _case(REAL_TIME_REQUEST, ("config", 0, "model_id"), "", "model_id"),
    _case(REAL_TIME_REQUEST, ("config", 0, "specification"), _DROP, "specification"),
    _case(REAL_TIME_REQUEST, ("config", 0, "specification"), "", "specification"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), _DROP, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), 0, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), 129, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), -1, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), 1.5, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), "two", "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "instance_count"), True, "instance_count"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), 101, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), -1, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), "heavy", "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), True, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), 99, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), _DROP, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "weight"), None, "weight"),
    _case(REAL_TIME_REQUEST, ("config", 0, "envs"), {"BAD NAME": "x"}, "envs"),
    _case(REAL_TIME_REQUEST, ("config", 0, "envs"), {"": "x"}, "envs"),
    _case(REAL_TIME_REQUEST, ("config", 0, "envs"), {"A": {"nested": 1}}, "envs"),
    _case(REAL_TIME_REQUEST, ("config", 0, "envs"), ["A=1"], "envs"),
    _case(REAL_TIME_REQUEST, ("config", 0, "deploy_timeout_in_seconds"), 0, "deploy_timeout"),
    _case(REAL_TIME_REQUEST, ("config", 0, "mapping_type"), "json", "mapping_type"),
    _case(REAL_TIME_REQUEST, ("config", 0, "src_type"), "Folder", "src_type"),
    _case(REAL_TIME_REQUEST, ("config", 0, "nodes"), "node-1", "nodes"),
    _case(REAL_TIME_REQUEST, ("config", 0, "mapping_rule"), "rule", "mapping_rule"),
    # custom specifications
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec"), _DROP, "custom_spec"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "cpu"), 0.001, "cpu"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "cpu"), _DROP, "cpu"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "memory"), _DROP, "memory"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "memory"), 0, "memory"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "memory"), 512.5, "memory"),
    _case(CUSTOM_SPEC_REQUEST, ("config", 0, "custom_spec", "gpu_p4"), -0.5, "gpu_p4"),
    # custom needs a dedicated pool, and a config-level pool needs a service-level one
    _case(CUSTOM_SPEC_REQUEST, ("cluster_id",), _DROP, "cluster_id"),
    _case(
        patched(CUSTOM_SPEC_REQUEST, ("cluster_id",), _DROP),
        ("config", 0, "cluster_id"),
        _DROP,
        "specification custom",
    ),
    # schedule
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "type"), "start", "type"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "type"), _DROP, "type"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "time_unit"), "WEEKS", "time_unit"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "time_unit"), _DROP, "time_unit"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "duration"), 0, "duration"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "duration"), _DROP, "duration"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "duration"), "soon", "duration"),
    _case(AUTO_STOP_REQUEST, ("schedule", 0, "duration"), 1.5, "duration"),
    _case(
        AUTO_STOP_REQUEST,
        ("schedule",),
        [{"type": "stop", "time_unit": "HOURS", "duration": 1}] * 2,
        "schedule",
    ),
    _case(AUTO_STOP_REQUEST, ("schedule",), {"type": "stop"}, "schedule"),
    # batch services
    _case(BATCH_FILE_REQUEST, ("config", 0, "src_path"), _DROP, "src_path"),
    _case(BATCH_FILE_REQUEST, ("config", 0, "dest_path"), _DROP, "dest_path"),
    _case(BATCH_FILE_REQUEST, ("config", 0, "req_uri"), _DROP, "req_uri"),
    _case(BATCH_FILE_REQUEST, ("config", 0, "mapping_type"), _DROP, "mapping_type"),
    _case(BATCH_CSV_REQUEST, ("config", 0, "mapping_rule"), _DROP, "mapping_rule"),
    _case(
        BATCH_FILE_REQUEST,
        ("schedule",),
        [{"type": "stop", "time_unit": "HOURS", "duration": 1}],
        "schedule",
    ),
    _case(BATCH_FILE_REQUEST, ("load_balancer_policy",), "ROUND_ROBIN", "load_balancer_policy"),
    # service level
    _case(REAL_TIME_REQUEST, ("workspace_id",), "", "workspace_id"),
    _case(REAL_TIME_REQUEST, ("load_balancer_policy",), "RANDOM", "load_balancer_policy"),
    _case(REAL_TIME_REQUEST, ("priority",), 0, "priority"),
    _case(REAL_TIME_REQUEST, ("priority",), 4, "priority"),
    _case(REAL_TIME_REQUEST, ("priority",), "high", "priority"),
    _case(EDGE_REQUEST, ("priority",), 1, "priority"),
    _case(REAL_TIME_REQUEST, ("vpc_id",), "vpc-1", "subnet_network_id"),
    _case(
        patched(REAL_TIME_REQUEST, ("vpc_id",), "vpc-1"),
        ("subnet_network_id",),
        "subnet-1",
        "security_group_id",
    ),
    _case(REAL_TIME_REQUEST, ("service_secrets",), [{"secretId": "s"}], "mouthPath"),
    _case(REAL_TIME_REQUEST, ("service_secrets",), [{"mouthPath": "/s"}], "secretId"),
    # additional properties of the service
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"smn_notification": {"topic_urn": "urn:smn:r:p:t", "events": [2]}},
        "events",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"smn_notification": {"topic_urn": "arn:aws:sns:t", "events": [1]}},
        "topic_urn",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"smn_notification": {"events": [1]}},
        "topic_urn",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"smn_notification": {"topic_urn": "urn:smn:r:p:t"}},
        "events",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"log_report_channels": [{"type": "ELK"}]},
        "type",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"log_report_channels": [{"type": "LTS", "configuration": {"log_group_id": "g"}}]},
        "log_stream_id",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {
            "log_report_channels": [
                {"type": "LTS", "configuration": {"log_group_id": "g" * 65, "log_stream_id": "s"}}
            ]
        },
        "log_group_id",
    ),
    _case(
        REAL_TIME_REQUEST,
        ("additional_properties",),
        {"websocket_upgrade": "sometimes"},
        "websocket_upgrade",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_DEPLOYS)
def test_bad_deploy_bodies_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    assert field in refusal(ServiceCreate, body)


def _with_pool(**extras: Any) -> dict[str, Any]:
    return patched(REAL_TIME_REQUEST, ("config", 0, "additional_properties"), extras)


BAD_MODEL_EXTRAS = [
    pytest.param(_with_pool(max_surge=0), "max_surge", id="max_surge=0"),
    pytest.param(_with_pool(max_unavailable=-1), "max_unavailable", id="max_unavailable<0"),
    pytest.param(
        _with_pool(termination_grace_period_seconds=-1),
        "termination_grace_period_seconds",
        id="grace<0",
    ),
    pytest.param(_with_pool(log_volume=[{"host_path": "/h"}]), "mount_path", id="log-no-mount"),
    pytest.param(
        _with_pool(log_volume=[{"host_path": "h", "mount_path": "/m"}]),
        "host_path",
        id="log-relative",
    ),
    *(
        pytest.param(
            _with_pool(persistent_volumes=[{"mount_path": path}]),
            "mount_path",
            id=f"volume-at-{path}",
        )
        for path in ("/", "/var/run", "/var/run/", "//etc", "relative", "/data/../etc")
    ),
    pytest.param(
        _with_pool(persistent_volumes=[{"mount_path": "/data", "storage_type": "nfs"}]),
        "storage_type",
        id="volume-nfs",
    ),
    pytest.param(_with_pool(persistent_volumes=[{"name": "v"}]), "mount_path", id="volume-no-path"),
]


@pytest.mark.parametrize(("body", "field"), BAD_MODEL_EXTRAS)
def test_bad_model_extras_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    # A dedicated pool, so that log volumes themselves are allowed.
    body = patched(body, ("pool_name",), "pool-a")
    assert field in refusal(ServiceCreate, body)


BAD_AFFINITIES = [
    pytest.param({"node_affinity": {}}, "mode", id="no-mode"),
    pytest.param({"node_affinity": {"mode": "always"}}, "mode", id="bad-mode"),
    pytest.param(
        {"node_affinity": {"mode": "preferred", "pool_infos": [{"nodes": []}]}},
        "pool_name",
        id="no-pool-name",
    ),
    pytest.param(
        {"node_affinity": {"mode": "preferred", "pool_infos": [{"pool_name": "p"}]}},
        "nodes",
        id="no-nodes",
    ),
    pytest.param(
        {"node_affinity": {"mode": "preferred", "pool_infos": [{"pool_name": "p", "nodes": [{}]}]}},
        "name",
        id="nameless-node",
    ),
]


@pytest.mark.parametrize(("affinity", "field"), BAD_AFFINITIES)
def test_bad_affinities_are_refused(affinity: dict[str, Any], field: str) -> None:
    body = patched(REAL_TIME_REQUEST, ("config", 0, "affinity"), affinity)
    assert field in refusal(ServiceCreate, body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("service_name",), "n" * 64),
        (("service_name",), "A-z_09"),
        (("service_name",), "\u670d\u52a1-1"),
        (("description",), "d" * 100),
        (("description",), ""),
        # The deploy page does not forbid "=" (the update page does).
        (("description",), "a=b"),
        (("config", 0, "instance_count"), 128),
        (("config", 0, "instance_count"), "3"),
        (("priority",), 1),
        (("priority",), 3),
        (("load_balancer_policy",), "ROUND_ROBIN"),
    ],
)
def test_deploy_bounds_are_inclusive(path: tuple[str | int, ...], value: object) -> None:
    ServiceCreate.model_validate(patched(REAL_TIME_REQUEST, path, value))


def test_real_time_weights_must_add_up_to_100() -> None:
    ok = ServiceCreate.model_validate(
        _body([_config(model_id="a", weight=0), _config(model_id="b", weight=100)])
    )
    assert [entry.weight for entry in ok.config] == [0, 100]
    three = [_config(model_id=m, weight=w) for m, w in (("a", 50), ("b", 25), ("c", 25))]
    ServiceCreate.model_validate(_body(three))
    over = refusal(ServiceCreate, _body([_config(model_id="a", weight=70), _config(model_id="b")]))
    assert "config" in over and "add up to 100" in over and "170" in over
    under = refusal(
        ServiceCreate, _body([_config(model_id="a", weight=60), _config(model_id="b", weight=30)])
    )
    assert "90" in under
    missing = refusal(
        ServiceCreate, _body([_config(model_id="a"), _config(model_id="b", weight=_DROP)])
    )
    assert "config[1].weight" in missing


def test_weights_do_not_bind_batch_and_edge_services() -> None:
    batch = patched(BATCH_FILE_REQUEST, ("config", 0, "weight"), 30)
    assert ServiceCreate.model_validate(batch).config[0].weight == 30
    edge = patched(EDGE_REQUEST, ("config", 0, "weight"), 5)
    ServiceCreate.model_validate(edge)


def test_model_versions_must_differ() -> None:
    body = _body([_config(model_id="same", weight=50), _config(model_id="same", weight=50)])
    message = refusal(ServiceCreate, body)
    assert "model_id" in message and "same" in message


def test_batch_service_deploys_one_model() -> None:
    second = copy.deepcopy(BATCH_FILE_REQUEST["config"][0]) | {"model_id": "other"}
    body = patched(BATCH_FILE_REQUEST, ("config",), [*BATCH_FILE_REQUEST["config"], second])
    assert "config" in refusal(ServiceCreate, body)
    assert "exactly one model" in refusal(ServiceCreate, body)


def test_dedicated_pool_rules() -> None:
    custom = _config(specification="custom", custom_spec={"cpu": 1, "memory": 1024})
    assert "specification custom" in refusal(ServiceCreate, _body([custom]))
    ServiceCreate.model_validate(_body([custom], pool_name="pool-a"))
    ServiceCreate.model_validate(_body([custom], cluster_id="cluster-a"))
    pooled = _config(pool_name="pool-a")
    assert "config[0].cluster_id and pool_name" in refusal(ServiceCreate, _body([pooled]))
    ServiceCreate.model_validate(_body([pooled], cluster_id="cluster-a"))
    logs = _config(additional_properties={"log_volume": [{"host_path": "/h", "mount_path": "/m"}]})
    assert "log_volume" in refusal(ServiceCreate, _body([logs]))
    ServiceCreate.model_validate(_body([logs], pool_name="pool-a"))
    # Edge services: custom flavors run on the named nodes; a config's edge pool needs the
    # service's own.
    edge_pool = patched(EDGE_REQUEST, ("config", 0, "cluster_id"), "edge-pool")
    assert "cluster_id" in refusal(ServiceCreate, edge_pool)
    ServiceCreate.model_validate(patched(edge_pool, ("cluster_id",), "edge-pool"))


def test_vpc_needs_its_subnet_and_security_group() -> None:
    body = _body(
        [_config()], vpc_id="vpc-1", subnet_network_id="subnet-1", security_group_id="sg-1"
    )
    assert ServiceCreate.model_validate(body).vpc_id == "vpc-1"
    # Without a VPC they are simply unused.
    ServiceCreate.model_validate(_body([_config()], subnet_network_id="subnet-1"))


# -- update ---------------------------------------------------------------------------------
def test_update_example_parses() -> None:
    body = ServiceUpdate.model_validate(UPDATE_REQUEST)
    assert wire(body) == _weights_as_numbers(UPDATE_REQUEST)
    # Status and config together: only the status is applied.
    assert body.status == "running" and body.effective_config is None
    assert update_problem(body, "real-time") is None


def test_update_defaults_change_nothing() -> None:
    body = ServiceUpdate.model_validate({})
    assert wire(body) == {}
    assert body.effective_config is None
    assert update_problem(body, "batch") is None


def test_update_changes_config_without_a_status() -> None:
    body = ServiceUpdate.model_validate(
        {
            "config": [_config(model_id="a", weight=20), _config(model_id="b", weight=80)],
            "description": "new text",
            "schedule": [{"type": "stop", "time_unit": "MINUTES", "duration": 30}],
            "additional_properties": {"websocket_upgrade": True},
            "load_balancer_policy": "ROUND_ROBIN",
            "service_secrets": [{"secretId": "s", "mouthPath": "/s"}],
            "priority": 2,
        }
    )
    assert body.effective_config is not None and len(body.effective_config) == 2
    assert body.schedule is not None and body.schedule[0].seconds == 1800
    assert update_problem(body, "real-time") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"status": "deleted"}, "status", id="status-deleted"),
        pytest.param({"status": "deploying"}, "status", id="status-deploying"),
        pytest.param({"status": 1}, "status", id="status-number"),
        *(
            pytest.param({"description": f"a{c}b"}, "description", id=f"description-{c}")
            for c in "<>=&\"'"
        ),
        pytest.param({"description": "d" * 101}, "description", id="description-long"),
        pytest.param({"config": []}, "config", id="config-empty"),
        pytest.param({"config": [_config(instance_count=0)]}, "instance_count", id="count-0"),
        pytest.param({"config": [_config(instance_count=200)]}, "instance_count", id="count-200"),
        pytest.param({"config": [_config(model_id=_DROP)]}, "model_id", id="no-model"),
        pytest.param({"config": [_config(specification=_DROP)]}, "specification", id="no-spec"),
        pytest.param({"config": [_config(specification="custom")]}, "custom_spec", id="custom"),
        pytest.param({"config": [_config(weight=101)]}, "weight", id="weight-101"),
        pytest.param(
            {"schedule": [{"type": "stop", "time_unit": "YEARS", "duration": 1}]},
            "time_unit",
            id="schedule-years",
        ),
        pytest.param({"priority": 5}, "priority", id="priority-5"),
        pytest.param({"load_balancer_policy": "HASH"}, "load_balancer_policy", id="policy"),
    ],
)
def test_bad_update_bodies_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    assert field in refusal(ServiceUpdate, body)


def test_update_rules_need_the_service_inference_type() -> None:
    uneven = ServiceUpdate.model_validate(
        {"config": [_config(model_id="a", weight=20), _config(model_id="b", weight=20)]}
    )
    problem = update_problem(uneven, "real-time")
    assert problem is not None and "config" in problem and "100" in problem
    assert update_problem(uneven, "edge") is None
    assert "exactly one model" in (update_problem(uneven, "batch") or "")
    # A status change leaves the config alone, so its rules do not apply.
    stopping = ServiceUpdate.model_validate({**uneven.model_dump(), "status": "stopped"})
    assert update_problem(stopping, "real-time") is None
    scheduled = ServiceUpdate.model_validate(
        {"schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 1}]}
    )
    assert "schedule" in (update_problem(scheduled, "batch") or "")
    custom = ServiceUpdate.model_validate(
        {"config": [_config(specification="custom", custom_spec={"cpu": 2, "memory": 4096})]}
    )
    assert "dedicated" in (update_problem(custom, "real-time") or "")
    assert update_problem(custom, "real-time", service_pool_name=True) is None
    assert update_problem(custom, "real-time", service_cluster=True) is None
    edge_priority = ServiceUpdate.model_validate({"priority": 2})
    assert "priority" in (update_problem(edge_priority, "edge") or "")


def test_service_problem_reports_the_first_broken_rule() -> None:
    config = [ServiceConfig.model_validate(_config())]
    assert service_problem("real-time", config=config) is None
    assert service_problem("real-time", config=None) is None
    policy = service_problem("edge", config=config, load_balancer_policy="SOURCE_IP")
    assert policy is not None and "load_balancer_policy" in policy


# -- query strings --------------------------------------------------------------------------
def test_list_query_defaults() -> None:
    query = ServiceListQuery.model_validate({})
    assert (query.offset, query.limit, query.sort_by, query.order) == (
        0,
        1000,
        "publish_at",
        "desc",
    )
    for name in ("service_id", "service_name", "model_id", "workspace_id", "infer_type"):
        assert getattr(query, name) is None
    assert query.status is None and query.tags is None


def test_list_query_takes_every_documented_value() -> None:
    for status in SERVICE_STATUSES:
        assert ServiceListQuery.model_validate({"status": status.upper()}).status == status
    for key in ("publish_at", "service_name", "transition_at"):
        assert ServiceListQuery.model_validate({"sort_by": key}).sort_by == key
    query = ServiceListQuery.model_validate(
        {"infer_type": "batch", "order": "ASC", "offset": "20", "limit": "1", "tags": "k=v"}
    )
    assert (query.infer_type, query.order, query.offset, query.limit) == ("batch", "asc", 20, 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"infer_type": "online"}, "infer_type"),
        ({"sort_by": "create_time"}, "sort_by"),
        ({"order": "up"}, "order"),
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"service_name": "n" * 65}, "service_name"),
    ],
)
def test_bad_list_queries_are_refused(params: dict[str, Any], field: str) -> None:
    assert field in refusal(ServiceListQuery, params)


def test_events_query() -> None:
    query = ServiceEventsQuery.model_validate({})
    assert (query.offset, query.limit, query.sort_by, query.order) == (
        0,
        1000,
        "occur_time",
        "desc",
    )
    assert query.event_type is None and query.event_info is None
    full = ServiceEventsQuery.model_validate(
        {
            "event_type": "ABNORMAL",
            "event_info": "pull image success",
            "start_time": "1562597251764",
            "end_time": 1562597332582,
            "order": "asc",
        }
    )
    assert (full.event_type, full.start_time) == ("abnormal", 1562597251764)
    ServiceEventsQuery.model_validate({"start_time": 5, "end_time": 5})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        *(
            pytest.param({"event_info": f"a{c}b"}, "event_info", id=f"info-{c}")
            for c in "`(){}';,[]<>/?"
        ),
        pytest.param({"event_type": "warning"}, "event_type", id="type"),
        pytest.param({"start_time": 10, "end_time": 5}, "start_time", id="window"),
        pytest.param({"start_time": -1}, "start_time", id="negative-start"),
        pytest.param({"sort_by": "event_type"}, "sort_by", id="sort"),
        pytest.param({"order": "random"}, "order", id="order"),
        pytest.param({"limit": 0}, "limit", id="limit"),
        pytest.param({"offset": -5}, "offset", id="offset"),
    ],
)
def test_bad_events_queries_are_refused(params: dict[str, Any], field: str) -> None:
    assert field in refusal(ServiceEventsQuery, params)


def test_specification_query() -> None:
    query = SpecificationQuery.model_validate({})
    assert (query.is_personal_cluster, query.infer_type, query.limit, query.offset) == (
        False,
        "real-time",
        1000,
        0,
    )
    # The table types limit and offset as strings.
    given = SpecificationQuery.model_validate(
        {"is_personal_cluster": "true", "infer_type": "batch", "limit": "10", "offset": "5"}
    )
    assert (given.is_personal_cluster, given.infer_type, given.limit, given.offset) == (
        True,
        "batch",
        10,
        5,
    )
    for params, field in (
        ({"infer_type": "offline"}, "infer_type"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"is_personal_cluster": "maybe"}, "is_personal_cluster"),
    ):
        assert field in refusal(SpecificationQuery, params)


def test_monitor_and_logs_queries() -> None:
    assert ServiceMonitorQuery.model_validate({}).node_id is None
    assert ServiceMonitorQuery.model_validate({"node_id": "n-1"}).node_id == "n-1"
    assert "node_id" in refusal(ServiceMonitorQuery, {"node_id": ""})
    assert ServiceLogsQuery.model_validate({}).update_time is None
    assert ServiceLogsQuery.model_validate({"update_time": "1574770228888"}).update_time == (
        1574770228888
    )
    assert "update_time" in refusal(ServiceLogsQuery, {"update_time": -1})
    assert "update_time" in refusal(ServiceLogsQuery, {"update_time": "yesterday"})


async def test_query_models_work_as_fastapi_query_parameters() -> None:
    app = FastAPI()

    @app.get("/services")
    async def services(query: Annotated[ServiceListQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    @app.get("/events")
    async def events(query: Annotated[ServiceEventsQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    @app.get("/specifications")
    async def specifications(query: Annotated[SpecificationQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        listed = await client.get(
            "/services", params={"status": "Running", "limit": "20", "infer_type": "edge"}
        )
        assert listed.status_code == 200
        assert listed.json() == {
            "status": "running",
            "limit": 20,
            "offset": 0,
            "sort_by": "publish_at",
            "order": "desc",
            "infer_type": "edge",
        }
        assert (await client.get("/services", params={"limit": "0"})).status_code == 422
        window = await client.get("/events", params={"start_time": "9", "end_time": "1"})
        assert window.status_code == 422
        specs = await client.get("/specifications", params={"is_personal_cluster": "true"})
        assert specs.json()["is_personal_cluster"] is True


# -- answers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "example"),
    [
        pytest.param(ServiceDeployOut, DEPLOY_ANSWER, id="deploy"),
        pytest.param(ServiceOut, DETAILS_ANSWER, id="details"),
        pytest.param(ServiceMonitorOut, MONITOR_ANSWER, id="monitor"),
        pytest.param(ServiceLogsOut, LOGS_ANSWER, id="logs"),
        pytest.param(ServiceEventsOut, EVENTS_ANSWER, id="events"),
        pytest.param(SpecificationListOut, SPECIFICATIONS_ANSWER, id="specifications"),
        pytest.param(ServiceUpdateOut, {}, id="update"),
        pytest.param(ServiceDeleteOut, {}, id="delete"),
    ],
)
def test_reference_answers_parse_and_round_trip(
    model: type[BaseModel], example: dict[str, Any]
) -> None:
    assert wire(model.model_validate(example)) == example


def test_list_answer_carries_workspace_ids_as_text() -> None:
    answer = ServiceListOut.model_validate(LIST_ANSWER)
    assert answer.services[0].workspace_id == "0"
    expected = copy.deepcopy(LIST_ANSWER)
    expected["services"][0]["workspace_id"] = "0"
    assert wire(answer) == expected


def test_details_answer_values() -> None:
    answer = ServiceOut.model_validate(DETAILS_ANSWER)
    assert answer.config is not None and answer.config[0].status == "notReady"
    assert answer.access_address == infer_address(
        "https://xxxxx.apigw.xxxxx.com", "f76f20ba-78f5-44e8-893a-37c8c600c02f", answer.cluster_id
    )


def test_full_details_answer() -> None:
    answer = ServiceOut.model_validate(
        {
            **DETAILS_ANSWER,
            "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 1}],
            "due_time": 1585812831902,
            "additional_properties": {
                "smn_notification": {"topic_urn": "urn:smn:r:p:t", "events": [1, 3]},
                "log_report_channels": [{"type": "LTS"}],
            },
            "config": [
                {
                    "model_id": "m",
                    "nodes": [{"id": "n-1", "instance_status": "running", "host_ips": ["1.1.1.1"]}],
                    "affinity": {"node_affinity": {"mode": "required", "pool_infos": []}},
                    "additional_properties": {
                        "log_volume": [{"host_path": "/h", "mount_path": "/m"}]
                    },
                }
            ],
        }
    )
    assert answer.additional_properties is not None
    assert answer.additional_properties.smn_notification is not None
    assert answer.config is not None and answer.config[0].nodes is not None
    assert answer.config[0].nodes[0].host_ips == ["1.1.1.1"]


_ANSWER_MODELS: list[type[BaseModel]] = [
    ServiceOut,
    ServiceSummaryOut,
    ServiceConfigOut,
    MonitorOut,
    SpecificationOut,
]


@pytest.mark.parametrize("model", _ANSWER_MODELS, ids=lambda m: m.__name__)
def test_answer_fields_are_optional(model: type[BaseModel]) -> None:
    assert wire(model.model_validate({})) == {}
    assert all(not field.is_required() for field in model.model_fields.values())


def test_list_answers_need_their_counts() -> None:
    for model, body in (
        (ServiceListOut, {"services": []}),
        (ServiceEventsOut, {"events": []}),
        (SpecificationListOut, {"specifications": []}),
    ):
        assert "count" in refusal(model, body)


# -- enumerations and helpers ----------------------------------------------------------------
def test_documented_values() -> None:
    assert set(SERVICE_STATUSES) == {
        "running",
        "deploying",
        "concerning",
        "failed",
        "stopped",
        "finished",
        "stopping",
        "deleting",
        "pending",
        "waiting",
    }
    assert TARGET_STATUSES == ("running", "stopped")
    assert INFER_TYPES == ("real-time", "batch", "edge")
    assert TIME_UNITS == ("DAYS", "HOURS", "MINUTES")
    assert LOAD_BALANCER_POLICIES == ("ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP")
    assert SMN_EVENT_STATUSES == {1: "failed", 3: "running", 7: "concerning", 11: "pending"}
    assert "notReady" in CONFIG_STATUSES


def test_schedule_length_in_seconds() -> None:
    for unit, seconds in (("DAYS", 86_400), ("HOURS", 3_600), ("MINUTES", 60)):
        assert Schedule.model_validate(
            {"type": "stop", "time_unit": unit, "duration": 3}
        ).seconds == (3 * seconds)


def test_split_service_ids() -> None:
    assert split_service_ids("xxxxxx") == ["xxxxxx"]
    assert split_service_ids("a, b,a") == ["a", "b"]
    for bad in ("", "a,,b", " ", "x" * 65, ",".join(str(n) for n in range(101))):
        with pytest.raises(ValueError, match="service_id"):
            split_service_ids(bad)


def test_infer_address() -> None:
    assert infer_address("https://gw/", "svc") == "https://gw/v1/infers/svc"
    assert infer_address("https://gw", "svc", "pool") == "https://gw/v1/infers/pool/svc"
