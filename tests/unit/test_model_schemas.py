"""Model-management wire shapes (create, list, show, delete, the runtime catalog) against
the reference's examples and tables."""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import ValidationError

from openarts.schemas.models import (
    ACCELERATOR_TYPES,
    AI_ENGINES,
    CASCADE_DELETE_MAX,
    DEFAULT_INSTALL_TYPES,
    ENGINE_ARCHES,
    ENGINE_STATUSES,
    IMAGE_SOURCES,
    INSTALL_TYPES,
    MODEL_LIST_QUERY,
    MODEL_SOURCES,
    MODEL_STATUSES,
    MODEL_TYPES,
    PARAM_TYPES,
    REQUEST_MODES,
    EngineRuntimePage,
    ModelCreate,
    ModelCreated,
    ModelDeleteQuery,
    ModelDeleteResult,
    ModelDetail,
    ModelHealthOut,
    ModelListQuery,
    ModelPage,
    RuntimeListQuery,
)

# -- the reference's examples, as the pages give them --------------------------------------
INITIAL_CONFIG = (
    '{"protocol":"http","port":"8080","health":{"check_method":"HTTP","protocol":"http",'
    '"url":"/health","period_seconds":"5","failure_threshold":"10",'
    '"initial_delay_seconds":"12"},"readiness_health":{"check_method":"HTTP",'
    '"protocol":"http","url":"/readiness_health","period_seconds":"5",'
    '"failure_threshold":"20","initial_delay_seconds":"12"},"startup_health":'
    '{"check_method":"HTTP","protocol":"http","url":"/startup_health",'
    '"period_seconds":"5","failure_threshold":"10","initial_delay_seconds":"12"}}'
)

CREATE_REQUEST: dict[str, Any] = {
    "model_name": "mnist",
    "model_version": "1.0.0",
    "source_location": "https://models.obs.xxxxx.com/mnist",
    "source_job_id": "55",
    "source_job_version": "V100",
    "model_type": "TensorFlow",
    "runtime": "python2.7",
    "description": "mnist model",
    "execution_code": "https://testmodel.obs.xxxxx.com/customize_service.py",
    "input_params": [
        {
            "url": "/v1/xxx/image",
            "protocol": "http",
            "method": "post",
            "param_name": "image_url",
            "param_type": "string",
            "min": 0,
            "max": 9,
            "param_desc": "http://test/test.jpeg",
        }
    ],
    "output_params": [
        {
            "url": "/v1/xxx/image",
            "protocol": "http",
            "method": "post",
            "param_name": "face_location",
            "param_type": "box",
            "param_desc": "face_location param value description",
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "numpy", "package_version": "1.5.0", "restraint": "ATLEAST"}
            ],
        }
    ],
    "model_algorithm": "object_detection",
    "model_metrics": ('{"f1":0.52381,"recall":0.666667,"precision":0.466667,"accuracy":0.625}'),
    "apis": [
        {
            "url": "/v1/xxx/image",
            "protocol": "http",
            "method": "post",
            "input_params": {
                "type": "object",
                "properties": {"image_url": {"type": "string"}},
            },
            "output_params": {
                "type": "object",
                "properties": {"face_location": {"type": "box"}},
            },
        }
    ],
    "initial_config": INITIAL_CONFIG,
}

CREATE_ANSWER: dict[str, Any] = {"model_id": "7feb7235-ed9c-48ae-9833-2876b2458445"}

LIST_ANSWER: dict[str, Any] = {
    "total_count": 1,
    "count": 1,
    "models": [
        {
            "model_name": "mnist",
            "model_version": "1.0.0",
            "model_id": "10eb0091-887f-4839-9929-cbc884f1e20e",
            "model_type": "tensorflow",
            "model_size": 5012312,
            "tenant": "6d28e85aa78b4e1a9b4bd83501bcd4a1",
            "project": "d04c10db1f264cfeb1966deff1a3527c",
            "owner": "6d28e85aa78b4e1a9b4bd83501bcd4a1",
            "create_at": 1533041553000,
            "description": "mnist model",
            "workspace_id": "0",
            "specification": {},
        }
    ],
}

DETAIL_CONFIG = json.dumps(
    {
        "model_algorithm": "image_classification",
        "model_source": "auto",
        "tunable": False,
        "downloadable_flag": True,
        "algorithm": "resnet_v2_50,mobilenet_v1",
        "metrics": {
            "f1": 0.912078373015873,
            "recall": 0.9125,
            "precision": 0.9340277777777778,
            "accuracy": 0.263250724969475,
        },
        "model_type": "TensorFlow",
        "runtime": "tf1.13-python3.6-cpu",
        "health": {
            "check_method": "HTTP",
            "protocol": "http",
            "url": "/health",
            "period_seconds": "5",
            "failure_threshold": "10",
            "initial_delay_seconds": "12",
        },
    },
    separators=(",", ":"),
)

DETAIL_APIS = (
    '[{"protocol":"http","method":"post","url":"/","input_params":{"type":"object",'
    '"properties":{"data":{"type":"object","properties":{"req_data":{"items":'
    '[{"type":"object","properties":{}}],"type":"array"}}}}},"output_params":'
    '{"type":"object","properties":{"data":{"type":"object","properties":{"resp_data":'
    '{"type":"array","items":[{"type":"object","properties":{}}]}}}}}}]'
)

DETAIL_ANSWER: dict[str, Any] = {
    "model_id": "10eb0091-887f-4839-9929-cbc884f1e20e",
    "model_name": "mnist",
    "model_version": "1.0.0",
    "runtime": "python2.7",
    "tenant": "6d28e85aa78b4e1a9b4bd83501bcd4a1",
    "project": "d04c10db1f264cfeb1966deff1a3527c",
    "owner": "6d28e85aa78b4e1a9b4bd83501bcd4a1",
    "source_location": "https://models.obs.xxxxx.com/mnist",
    "model_type": "TensorFlow",
    "model_size": 5633481,
    "model_status": "published",
    "execution_code": "https://testmodel.obs.xxxxx.com/customize_service.py",
    "image_address": "100.125.5.235:20202/models/10eb0091-887f-4839-9929-cbc884f1e20e:1.0.0",
    "input_params": [
        {
            "url": "/",
            "method": "post",
            "protocol": "http",
            "param_name": "data",
            "param_type": "object",
            "param_desc": (
                '{"type":"object","properties":{"req_data":{"items":[{"type":"object",'
                '"properties":{}}],"type":"array"}}}'
            ),
        }
    ],
    "output_params": [
        {
            "url": "/",
            "method": "post",
            "protocol": "http",
            "param_name": "data",
            "param_type": "object",
            "param_desc": (
                '{"type":"object","properties":{"resp_data":{"type":"array","items":'
                '[{"type":"object","properties":{}}]}}}'
            ),
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "pkg1", "package_version": "1.0.1", "restraint": "ATLEAST"}
            ],
        }
    ],
    "model_metrics": '{"f1":0.52381,"recall":0.666667,"precision":0.466667,"accuracy":0.625}',
    "apis": DETAIL_APIS,
    "model_labels": [],
    "labels_map": {"labels": []},
    "workspace_id": "0",
    "install_type": ["realtime", "batch", "edge"],
    "specification": {},
    "config": DETAIL_CONFIG,
}

DELETE_ANSWER: dict[str, Any] = {
    "delete_success_list": ["10eb0091-887f-4839-9929-cbc884f1e20e"],
    "delete_failed_list": [
        {
            "error_msg": (
                "Failed to delete model because the model "
                "(759645d9-3672-4db1-bb6d-49ed58b84e10) has been used to deploy a service."
            ),
            "error_code": "ModelArts.3009",
            "model_id": "e527d311-a947-46da-a6e0-66c49945dfaa",
        }
    ],
}

RUNTIME_ANSWER: dict[str, Any] = {
    "count": 2,
    "total_count": 2,
    "engine_runtimes": [
        {
            "ai_engine": "PyTorch",
            "runtimes": [
                "python3.6",
                "pytorch_1.11.0-cann_7.0.1-py_3.9-euler_2.10.7-aarch64-snt9b",
                "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64",
            ],
            "request_mode": ["sync", "sync", "sync"],
            "accelerators": [
                {"type": "none"},
                {"type": "npu", "name": "SNT9", "driver_version_section": "C8x"},
                {"type": "gpu", "cuda_version": "cuda 10.2"},
            ],
            "arch": ["x86_64", "aarch64", "x86_64"],
            "status_list": ["normal", "normal", "normal"],
            "image_source": ["base_image", "uniform_image", "uniform_image"],
        },
        {
            "ai_engine": "Custom",
            "runtimes": [],
            "request_mode": [],
            "accelerators": [],
            "arch": [],
            "status_list": [],
            "image_source": [],
        },
    ],
}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``body`` with fields set (a value of ``...`` removes the field)."""
    changed = copy.deepcopy(body)
    for key, value in changes.items():
        if value is ...:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


def _problems(caught: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    """Each error as "location: message", as the API's error answer words it."""
    return [
        ".".join(str(part) for part in error["loc"]) + ": " + error["msg"]
        for error in caught.value.errors()
    ]


def _refused(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ModelCreate.model_validate(body)
    return _problems(caught)


# -- create -------------------------------------------------------------------------------
def test_the_reference_create_example_is_accepted() -> None:
    model = ModelCreate.model_validate(CREATE_REQUEST)
    assert model.model_name == "mnist"
    assert model.model_version == "1.0.0"
    assert model.model_type == "TensorFlow"
    assert model.runtime == "python2.7"
    assert model.input_params is not None and model.input_params[0].min == 0
    assert model.output_params is not None and model.output_params[0].param_type == "box"
    assert model.dependencies is not None
    package = model.dependencies[0].packages[0]
    assert (package.package_name, package.package_version, package.restraint) == (
        "numpy",
        "1.5.0",
        "ATLEAST",
    )
    assert model.apis is not None
    api = model.apis[0]
    assert (api.protocol, api.method, api.url) == ("http", "post", "/v1/xxx/image")
    assert api.input_params is not None and api.input_params.type == "object"
    config = model.initial_config_object()
    assert config is not None and config["health"]["url"] == "/health"


def test_create_defaults() -> None:
    model = ModelCreate.model_validate(
        {
            "model_name": "m",
            "model_version": "0.0.1",
            "model_type": "PyTorch",
            "source_location": "obs://bucket/model/",
        }
    )
    assert model.workspace_id == "0"
    assert model.install_type == list(DEFAULT_INSTALL_TYPES) == ["real-time", "batch"]
    assert model.source_copy is None
    assert model.copies_image is False
    for unset in (
        "model_docs",
        "template",
        "initial_config",
        "execution_code",
        "runtime",
        "description",
        "dependencies",
        "apis",
        "input_params",
        "output_params",
        "model_algorithm",
        "model_metrics",
        "source_type",
        "cmd",
        "deployment_constraints",
    ):
        assert getattr(model, unset) is None, unset
    assert model.initial_config_object() is None


def test_install_types_fold_realtime_and_keep_the_reference_spelling() -> None:
    model = ModelCreate.model_validate(
        _with(CREATE_REQUEST, install_type=["realtime", "batch", "edge"])
    )
    assert model.install_type == ["real-time", "batch", "edge"]
    assert INSTALL_TYPES == ("real-time", "batch", "edge")


def test_enumerations_are_matched_in_any_case_and_stored_as_documented() -> None:
    body = _with(
        CREATE_REQUEST,
        model_type="tensorflow",
        source_type="AUTO",
        apis=[{"protocol": "HTTPS", "method": "GET", "url": "/predict"}],
        dependencies=[
            {
                "installer": "PIP",
                "packages": [{"package_name": "a", "package_version": "1", "restraint": "exact"}],
            }
        ],
    )
    model = ModelCreate.model_validate(body)
    assert model.model_type == "TensorFlow"
    assert model.source_type == "auto"
    assert model.apis is not None and (model.apis[0].protocol, model.apis[0].method) == (
        "https",
        "get",
    )
    assert model.dependencies is not None
    assert model.dependencies[0].installer == "pip"
    assert model.dependencies[0].packages[0].restraint == "EXACT"


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_every_model_type_is_accepted(model_type: str) -> None:
    body = _with(CREATE_REQUEST, model_type=model_type)
    if model_type == "Template":
        body["template"] = {
            "template_id": "t1",
            "template_inputs": [{"input_id": "model", "input": "obs://b/m/"}],
        }
    assert ModelCreate.model_validate(body).model_type == model_type


@pytest.mark.parametrize("value", [True, "true", "TRUE", False, "false"])
def test_source_copy_takes_text_or_booleans(value: object) -> None:
    body = _with(
        CREATE_REQUEST, model_type="Image", source_location="swr.x.com/org/img:1", source_copy=value
    )
    model = ModelCreate.model_validate(body)
    expected = "true" if value in (True, "true", "TRUE") else "false"
    assert model.source_copy == expected
    assert model.copies_image is (expected == "true")


def test_an_image_model_copies_its_image_by_default() -> None:
    body = _with(CREATE_REQUEST, model_type="Image", source_location="swr.x.com/org/img:1")
    assert ModelCreate.model_validate(body).copies_image is True


@pytest.mark.parametrize("version", ["0.0.1", "1.0.0", "10.99.0", "99.99.99", "1.10.2"])
def test_good_model_versions(version: str) -> None:
    assert ModelCreate.model_validate(_with(CREATE_REQUEST, model_version=version))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # enumerations
        ("model_type", "Keras"),
        ("model_type", 3),
        ("source_type", "manual"),
        ("source_copy", "maybe"),
        ("install_type", ["online"]),
        ("install_type", ["REAL-TIME"]),
        ("install_type", ["Batch"]),
        # patterns and lengths
        ("model_version", "01.01.01"),
        ("model_version", "1.0"),
        ("model_version", "1.0.0.0"),
        ("model_version", "100.0.0"),
        ("model_version", "v1.0.0"),
        ("model_version", "1.0.0 "),
        ("model_name", ""),
        ("model_name", "m" * 65),
        ("model_name", "bad name"),
        ("model_name", "a/b"),
        ("description", "d" * 101),
        ("description", "a<b"),
        ("description", "say 'hi'"),
        ("description", "x=1"),
        ("description", ""),
        ("runtime", "python 3.6"),
        ("runtime", "r" * 129),
        ("model_algorithm", "1abc"),
        ("model_algorithm", "a" * 37),
        ("model_algorithm", "a=b"),
        ("source_location", "obs://b/with space"),
        ("source_location", ""),
        ("execution_code", "obs://b/ x.py"),
        ("workspace_id", ""),
        ("cmd", ""),
        # JSON written as a string
        ("initial_config", "not json"),
        ("initial_config", "[1, 2]"),
        ("model_metrics", "{bad"),
        ("model_metrics", "0.9"),
        # wrong types
        ("model_version", 100),
        ("model_name", ["mnist"]),
        ("install_type", "batch"),
        ("install_type", []),
        ("install_type", ["batch", "batch"]),
        ("dependencies", {"installer": "pip"}),
        ("apis", "[]"),
        ("initial_config", {"health": {}}),
    ],
)
def test_bad_fields_are_refused_naming_the_field(field: str, value: Any) -> None:
    problems = _refused(_with(CREATE_REQUEST, **{field: value}))
    assert any(p.startswith(field) for p in problems), problems


@pytest.mark.parametrize("field", ["model_name", "model_version", "model_type"])
def test_required_fields_are_required(field: str) -> None:
    problems = _refused(_with(CREATE_REQUEST, **{field: ...}))
    assert f"{field}: Field required" in problems


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("model_docs", [{"doc_url": "https://x/d", "doc_name": "d"}] * 4, "model_docs"),
        ("model_docs", [{"doc_url": "ftp://x/d", "doc_name": "d"}], "model_docs.0.doc_url"),
        ("model_docs", [{"doc_url": "https://x/d", "doc_name": "1d"}], "model_docs.0.doc_name"),
        ("model_docs", [{"doc_url": "https://x/d"}], "model_docs.0.doc_name"),
        ("dependencies", [{"installer": "conda", "packages": []}], "dependencies.0.installer"),
        ("dependencies", [{"packages": []}], "dependencies.0.installer"),
        ("dependencies", [{"installer": "pip"}], "dependencies.0.packages"),
        (
            "dependencies",
            [{"installer": "pip", "packages": [{"package_version": "1.0"}]}],
            "dependencies.0.packages.0.package_name",
        ),
        (
            "dependencies",
            [
                {
                    "installer": "pip",
                    "packages": [
                        {"package_name": "a", "package_version": "1", "restraint": "ABOUT"}
                    ],
                }
            ],
            "dependencies.0.packages.0.restraint",
        ),
        (
            "apis",
            [{"protocol": "ftp", "url": "/"}],
            "apis.0.protocol",
        ),
        ("apis", [{"method": "put", "url": "/"}], "apis.0.method"),
        ("apis", [{"url": "predict"}], "apis.0.url"),
        ("apis", [{"input_params": {"properties": []}}], "apis.0.input_params.properties"),
        (
            "input_params",
            [{"protocol": "http", "method": "post", "url": "/", "param_type": "string"}],
            "input_params.0.param_name",
        ),
        (
            "input_params",
            [
                {
                    "protocol": "http",
                    "method": "post",
                    "url": "/",
                    "param_name": "x",
                    "param_type": "tensor",
                }
            ],
            "input_params.0.param_type",
        ),
        (
            "output_params",
            [
                {
                    "protocol": "http",
                    "method": "post",
                    "url": "/",
                    "param_name": "p" * 65,
                    "param_type": "int",
                }
            ],
            "output_params.0.param_name",
        ),
        (
            "deployment_constraints",
            {"model_security": {"is_verify_app": "perhaps"}},
            "deployment_constraints.model_security.is_verify_app",
        ),
        (
            "deployment_constraints",
            {"input_types": "OBS"},
            "deployment_constraints.input_types",
        ),
    ],
)
def test_bad_nested_fields_are_refused_naming_the_field(field: str, value: Any, where: str) -> None:
    problems = _refused(_with(CREATE_REQUEST, **{field: value}))
    assert any(p.startswith(where) for p in problems), problems


@pytest.mark.parametrize(
    ("package", "where"),
    [
        ({"package_name": "numpy; rm -rf /"}, "package_name"),
        ({"package_name": "--index-url=http://x"}, "package_name"),
        ({"package_name": "-e"}, "package_name"),
        (
            {"package_name": "numpy", "package_version": "1.0 --pre", "restraint": "EXACT"},
            "package_version",
        ),
        (
            {"package_name": "numpy", "package_version": "1.0;ls", "restraint": "EXACT"},
            "package_version",
        ),
        (
            {"package_name": "numpy", "package_version": "-1", "restraint": "EXACT"},
            "package_version",
        ),
        ({"package_name": "a$(id)"}, "package_name"),
    ],
)
def test_packages_that_are_not_pip_tokens_are_refused(package: dict[str, Any], where: str) -> None:
    body = _with(CREATE_REQUEST, dependencies=[{"installer": "pip", "packages": [package]}])
    problems = _refused(body)
    assert any(p.startswith(f"dependencies.0.packages.0.{where}") for p in problems), problems


def test_a_package_version_needs_a_restraint() -> None:
    body = _with(
        CREATE_REQUEST,
        dependencies=[
            {"installer": "pip", "packages": [{"package_name": "numpy", "package_version": "1.0"}]}
        ],
    )
    problems = _refused(body)
    assert any("restraint is required when package_version is given" in p for p in problems)
    # A restraint without a version asks for nothing and is accepted.
    ModelCreate.model_validate(
        _with(
            CREATE_REQUEST,
            dependencies=[
                {"installer": "pip", "packages": [{"package_name": "numpy", "restraint": "EXACT"}]}
            ],
        )
    )


def test_parameter_bounds_must_be_ordered() -> None:
    params = copy.deepcopy(CREATE_REQUEST["input_params"])
    params[0]["min"], params[0]["max"] = 10, 1
    problems = _refused(_with(CREATE_REQUEST, input_params=params))
    assert any(
        p.startswith("input_params.0") and "min (10) must not exceed max (1)" in p for p in problems
    )


def test_a_model_outside_a_template_needs_its_source_location() -> None:
    problems = _refused(_with(CREATE_REQUEST, source_location=...))
    assert any("source_location is required" in p for p in problems), problems


def test_a_template_model_needs_its_template_but_no_source_location() -> None:
    problems = _refused(_with(CREATE_REQUEST, model_type="Template", source_location=...))
    assert any("template is required when model_type is Template" in p for p in problems)
    template = {
        "template_id": "tmpl-1",
        "infer_format": "fmt-1",
        "template_inputs": [{"input_id": "model", "input": "obs://bucket/model/"}],
    }
    model = ModelCreate.model_validate(
        _with(CREATE_REQUEST, model_type="Template", source_location=..., template=template)
    )
    assert model.template is not None and model.template.template_id == "tmpl-1"


@pytest.mark.parametrize(
    ("template", "where"),
    [
        ({"template_inputs": [{"input_id": "a", "input": "obs://b/a"}]}, "template.template_id"),
        ({"template_id": "t"}, "template.template_inputs"),
        ({"template_id": "t", "template_inputs": []}, "template.template_inputs"),
        (
            {"template_id": "t", "template_inputs": [{"input_id": "a"}]},
            "template.template_inputs.0.input",
        ),
        (
            {
                "template_id": "t",
                "template_inputs": [
                    {"input_id": "a", "input": "obs://b/1"},
                    {"input_id": "a", "input": "obs://b/2"},
                ],
            },
            "template",
        ),
    ],
)
def test_bad_templates_are_refused(template: dict[str, Any], where: str) -> None:
    body = _with(CREATE_REQUEST, model_type="Template", source_location=..., template=template)
    problems = _refused(body)
    assert any(p.startswith(where) for p in problems), problems


def test_repeated_template_inputs_are_named() -> None:
    template = {
        "template_id": "t",
        "template_inputs": [{"input_id": "a", "input": "obs://b/1"}] * 2,
    }
    problems = _refused(
        _with(CREATE_REQUEST, model_type="Template", source_location=..., template=template)
    )
    assert any("input_id 'a' is repeated" in p for p in problems), problems


def test_an_image_model_may_name_its_image_in_initial_config_instead() -> None:
    config = json.dumps({"swr_location": "swr.example.com/org/image:1.0", "health": {}})
    model = ModelCreate.model_validate(
        _with(CREATE_REQUEST, model_type="Image", source_location=..., initial_config=config)
    )
    assert model.source_location is None
    problems = _refused(
        _with(CREATE_REQUEST, model_type="Image", source_location=..., initial_config="{}")
    )
    assert any("source_location is required" in p for p in problems)
    # swr_location in initial_config speaks only for Image models.
    problems = _refused(_with(CREATE_REQUEST, source_location=..., initial_config=config))
    assert any("source_location is required" in p for p in problems)


def test_unknown_fields_are_ignored() -> None:
    model = ModelCreate.model_validate(_with(CREATE_REQUEST, swr_location="x", tags=[1]))
    assert "swr_location" not in model.model_dump()
    assert "tags" not in model.model_dump()


def test_three_model_docs_are_allowed() -> None:
    docs = [{"doc_url": f"https://docs.example.com/{n}", "doc_name": f"doc{n}"} for n in range(3)]
    model = ModelCreate.model_validate(_with(CREATE_REQUEST, model_docs=docs))
    assert model.model_docs is not None and len(model.model_docs) == 3


def test_deployment_constraints_keep_their_wire_names() -> None:
    constraints = {
        "request_mode": "async",
        "cpu_type": "x86",
        "input_types": ["OBS", "VIS"],
        "outputTypes": ["OBS", "DIS"],
        "service_config": "<service/>",
        "task_config": "<task/>",
        "model_security": {
            "model_key": "k",
            "rootKey": "r",
            "security_policy": "p",
            "is_verify_app": True,
        },
    }
    model = ModelCreate.model_validate(_with(CREATE_REQUEST, deployment_constraints=constraints))
    dumped = model.model_dump(exclude_none=True)["deployment_constraints"]
    assert dumped == constraints


# -- queries ------------------------------------------------------------------------------
def test_list_query_defaults() -> None:
    query = ModelListQuery.model_validate({})
    assert (query.offset, query.limit, query.sort_by, query.order) == (0, 1000, "create_at", "desc")
    assert query.exact_match is False
    for unset in (
        "model_name",
        "model_version",
        "model_status",
        "description",
        "workspace_id",
        "model_type",
        "not_model_type",
    ):
        assert getattr(query, unset) is None, unset
    assert set(MODEL_LIST_QUERY) == set(ModelListQuery.model_fields)


def test_list_query_takes_strings_and_folds_case() -> None:
    query = ModelListQuery.model_validate(
        {
            "model_name": "mn_ist",
            "exact_match": "true",
            "model_version": "1.0.0",
            "model_status": "PUBLISHED",
            "offset": "10",
            "limit": "20",
            "sort_by": "model_size",
            "order": "ASC",
            "model_type": "pytorch",
        }
    )
    assert query.exact_match is True
    assert (query.offset, query.limit) == (10, 20)
    assert (query.model_status, query.order, query.model_type) == ("published", "asc", "PyTorch")
    assert ModelListQuery.model_validate({"not_model_type": "IMAGE"}).not_model_type == "Image"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", 0),
        ("limit", 1001),
        ("offset", -1),
        ("sort_by", "name"),
        ("order", "up"),
        ("model_status", "running"),
        ("model_version", "01.0.0"),
        ("model_type", "Keras"),
        ("not_model_type", "Keras"),
        ("description", "d" * 101),
        ("model_name", "a b"),
        ("exact_match", "perhaps"),
    ],
)
def test_bad_list_queries_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ModelListQuery.model_validate({field: value})
    assert any(p.startswith(field) for p in _problems(caught)), _problems(caught)


def test_model_type_and_not_model_type_exclude_each_other() -> None:
    with pytest.raises(ValidationError) as caught:
        ModelListQuery.model_validate({"model_type": "Image", "not_model_type": "Template"})
    assert any(
        "model_type and not_model_type cannot be given together" in p for p in _problems(caught)
    )


def test_delete_and_runtime_queries() -> None:
    assert ModelDeleteQuery.model_validate({}).cascade is False
    assert ModelDeleteQuery.model_validate({"cascade": "true"}).cascade is True
    with pytest.raises(ValidationError):
        ModelDeleteQuery.model_validate({"cascade": "sometimes"})
    assert CASCADE_DELETE_MAX == 20

    runtimes = RuntimeListQuery.model_validate({})
    assert (runtimes.limit, runtimes.offset) == (None, 0)
    runtimes = RuntimeListQuery.model_validate({"limit": "5", "offset": "2"})
    assert (runtimes.limit, runtimes.offset) == (5, 2)
    for bad in ({"offset": "-1"}, {"limit": "0"}, {"limit": "ten"}):
        with pytest.raises(ValidationError):
            RuntimeListQuery.model_validate(bad)


async def test_query_models_work_as_fastapi_query_parameters() -> None:
    app = FastAPI()

    @app.get("/models")
    async def models(query: Annotated[ModelListQuery, Query()]) -> dict[str, Any]:
        return query.model_dump(exclude_none=True)

    @app.delete("/models/{model_id}")
    async def delete(model_id: str, query: Annotated[ModelDeleteQuery, Query()]) -> dict[str, Any]:
        return {"model_id": model_id, **query.model_dump()}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get(
            "/models", params={"model_status": "failed", "limit": "5", "model_type": "image"}
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "exact_match": False,
            "offset": 0,
            "limit": 5,
            "sort_by": "create_at",
            "order": "desc",
            "model_status": "failed",
            "model_type": "Image",
        }
        both = await client.get(
            "/models", params={"model_type": "Image", "not_model_type": "Custom"}
        )
        assert both.status_code == 422
        deleted = await client.delete("/models/m1", params={"cascade": "true"})
        assert deleted.json() == {"model_id": "m1", "cascade": True}


# -- answers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "example"),
    [
        (ModelCreated, CREATE_ANSWER),
        (ModelPage, LIST_ANSWER),
        (ModelDetail, DETAIL_ANSWER),
        (ModelDeleteResult, DELETE_ANSWER),
        (EngineRuntimePage, RUNTIME_ANSWER),
    ],
)
def test_the_reference_answers_round_trip(model: type[Any], example: dict[str, Any]) -> None:
    parsed = model.model_validate(example)
    assert parsed.model_dump(mode="json", exclude_none=True) == example


def test_answers_leave_unknown_values_unset() -> None:
    detail = ModelDetail.model_validate({"model_id": "m"})
    assert detail.model_dump(exclude_none=True) == {"model_id": "m"}
    assert ModelDeleteResult().model_dump() == {"delete_success_list": [], "delete_failed_list": []}


def test_answers_write_json_and_numbers_as_the_wire_wants() -> None:
    detail = ModelDetail.model_validate(
        {
            "apis": [{"protocol": "http", "method": "post", "url": "/"}],
            "config": {"model_type": "PyTorch"},
            "model_metrics": {"f1": 0.5},
            "health": {"url": "/health", "initial_delay_seconds": 12, "timeout_seconds": 30},
            "input_params": [{"param_name": "x", "min": 0, "max": 1.5}],
        }
    )
    dumped = detail.model_dump(mode="json", exclude_none=True)
    assert dumped["apis"] == '[{"protocol":"http","method":"post","url":"/"}]'
    assert json.loads(dumped["config"]) == {"model_type": "PyTorch"}
    assert dumped["model_metrics"] == '{"f1":0.5}'
    assert dumped["health"] == {
        "url": "/health",
        "initial_delay_seconds": "12",
        "timeout_seconds": "30",
    }
    assert dumped["input_params"] == [{"param_name": "x", "min": 0, "max": 1.5}]
    assert ModelHealthOut.model_validate({"period_seconds": "5"}).period_seconds == "5"


# -- enumerations -------------------------------------------------------------------------
def test_enumeration_tuples_hold_every_documented_value() -> None:
    assert MODEL_STATUSES == ("publishing", "published", "failed", "building", "building_failed")
    assert MODEL_SOURCES == ("auto", "algos", "custom")
    assert {"TensorFlow", "Image", "PyTorch", "Template", "MindSpore", "Custom"} <= set(MODEL_TYPES)
    assert {"MXNet", "Spark_MLlib", "Caffe", "Scikit_Learn", "XGBoost"} <= set(MODEL_TYPES)
    assert {"int", "string", "float", "timestamp", "date", "file"} <= set(PARAM_TYPES)
    assert set(AI_ENGINES) == {
        "TensorFlow",
        "PyTorch",
        "MindSpore",
        "XGBoost",
        "Scikit_Learn",
        "Spark_MLlib",
        "Custom",
    }
    assert REQUEST_MODES == ("sync", "async")
    assert ENGINE_ARCHES == ("x86_64", "aarch64")
    assert ENGINE_STATUSES == ("normal", "deleted", "deleting")
    assert IMAGE_SOURCES == ("base_image", "uniform_image")
    assert ACCELERATOR_TYPES == ("npu", "gpu", "none")


def test_a_dependency_with_empty_version_and_restraint_means_any_version() -> None:
    from openarts.schemas.models import PackageIn

    package = PackageIn.model_validate(
        {"package_name": "numpy", "package_version": "", "restraint": ""}
    )
    assert (package.package_version, package.restraint) == (None, None)
    spaced = PackageIn.model_validate({"package_name": "numpy", "package_version": " "})
    assert spaced.package_version is None
