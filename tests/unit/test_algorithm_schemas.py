"""Algorithm and training-catalog wire shapes against the reference's examples and the SDK."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from openarts.schemas.algorithms import (
    ALGORITHM_LIST_QUERY,
    ALGORITHM_SORT_KEYS,
    AlgorithmCreateIn,
    AlgorithmListOut,
    AlgorithmListQuery,
    AlgorithmMetadataOut,
    AlgorithmOut,
    AlgorithmUpdateIn,
    ResourceRequirementOut,
    SearchParamOut,
)
from openarts.schemas.training_catalog import (
    TRAINING_FLAVOR_TYPES,
    TrainingEnginesOut,
    TrainingFlavorsOut,
    TrainingFlavorsQuery,
)

# -- the reference's examples, as the pages give them --------------------------------------
JOB_CONFIG_IN: dict[str, Any] = {
    "code_dir": "/algo-test/pytorch/work1/code/",
    "boot_file": "/algo-test/pytorch/work1/code/test-pytorch.py",
    "parameters": [
        {
            "name": "test-parameter",
            "value": "10",
            "constraint": {
                "type": "String",
                "editable": True,
                "required": False,
                "sensitive": False,
                "valid_type": "None",
                "valid_range": [],
            },
        }
    ],
    "parameters_customization": True,
    "inputs": [{"name": "data_url", "description": "data source."}],
    "outputs": [{"name": "train_url", "description": "model output."}],
    "engine": {"engine_name": "PyTorch", "engine_version": "PyTorch-1.3.0-python3.6"},
}

CREATE_EXAMPLE: dict[str, Any] = {
    "metadata": {"name": "TestModelArtsalgorithm", "description": "This is a ModelArts algorithm"},
    "advanced_config": {
        "auto_search": {
            "algo_configs": [
                {
                    "name": "bayes_opt_search",
                    "params": [
                        {"key": "kind", "value": "ucb", "type": "String"},
                        {"key": "kappa", "value": "2.5", "type": "Float"},
                        {"key": "xi", "value": "0.0", "type": "Float"},
                        {"key": "num_samples", "value": "20", "type": "Integer"},
                        {"key": "seed", "value": "1", "type": "Integer"},
                    ],
                }
            ],
            "reward_attrs": [{"name": "max_search", "mode": "max", "regex": "10.0"}],
            "search_params": [{"name": "test_search", "lower_bound": "1", "upper_bound": "10"}],
        }
    },
    "job_config": JOB_CONFIG_IN,
}

UPDATE_EXAMPLE: dict[str, Any] = {
    "metadata": {
        "name": "TestModelArtsalgorithm",
        "description": "This is a ModelArts algorithm modified",
    },
    "job_config": JOB_CONFIG_IN,
}

ALGORITHM_EXAMPLE: dict[str, Any] = {
    "metadata": {
        "id": "2e5451fe-913f-4492-821a-2981031382f7",
        "name": "TestModelArtsalgorithm",
        "description": "This is a ModelArts algorithm",
        "create_time": 1636600721742,
        "workspace_id": "0",
        "ai_project": "default-ai-project",
        "user_name": "",
        "domain_id": "xxxxxxxxxxxxxxxxxxxxxxxxxx",
        "source": "custom",
        "api_version": "",
        "is_valid": True,
        "state": "",
        "size": 4791,
        "tags": None,
        "attr_list": None,
        "version_num": 0,
        "update_time": 0,
    },
    "job_config": {
        "code_dir": "/algo-test/pytorch/work1/code/",
        "boot_file": "/algo-test/pytorch/work1/code/test-pytorch.py",
        "command": "",
        "parameters": [
            {
                "name": "test-parameter",
                "description": "",
                "i18n_description": None,
                "value": "10",
                "constraint": {
                    "type": "String",
                    "editable": True,
                    "required": False,
                    "sensitive": False,
                    "valid_type": "None",
                    "valid_range": [],
                },
            }
        ],
        "parameters_customization": True,
        "inputs": [{"name": "data_url", "description": "name to translate"}],
        "outputs": [{"name": "train_url", "description": "name to translate"}],
        "engine": {
            "engine_id": "pytorch-cp36-1.3.0",
            "engine_name": "PyTorch",
            "engine_version": "PyTorch-1.3.0-python3.6",
        },
        "code_tree": {"name": "code/", "children": [{"name": "test-pytorch.py"}]},
    },
    "resource_requirements": None,
    "advanced_config": {},
}

LIST_EXAMPLE: dict[str, Any] = {
    "total": 1,
    "count": 1,
    "limit": 1,
    "offset": 0,
    "sort_by": "create_time",
    "order": "desc",
    "group_by": "",
    "items": [ALGORITHM_EXAMPLE],
}

FLAVORS_EXAMPLE: dict[str, Any] = {
    "total_count": 2,
    "flavors": [
        {
            "flavor_id": "modelarts.vm.cpu.2u",
            "flavor_name": "Computing CPU(2U) instance",
            "flavor_type": "CPU",
            "billing": {"code": "modelarts.vm.cpu.2u", "unit_num": 1},
            "flavor_info": {
                "max_num": 1,
                "cpu": {"arch": "x86", "core_num": 2},
                "memory": {"size": 8, "unit": "GB"},
                "disk": {"size": 50, "unit": "GB"},
            },
        },
        {
            "flavor_id": "modelarts.vm.cpu.8u",
            "flavor_name": "Computing CPU(8U) instance",
            "flavor_type": "CPU",
            "billing": {"code": "modelarts.vm.cpu.8u", "unit_num": 1},
            "flavor_info": {
                "max_num": 16,
                "cpu": {"arch": "x86", "core_num": 8},
                "memory": {"size": 32, "unit": "GB"},
                "disk": {"size": 50, "unit": "GB"},
            },
        },
    ],
}

# The page elides most engines with a "......" string; only real items are kept here.
ENGINES_EXAMPLE: dict[str, Any] = {
    "total": 20,
    "items": [
        {
            "engine_id": "caffe-1.0.0-python2.7",
            "engine_name": "Caffe",
            "engine_version": "caffe-1.0.0-python2.7",
            "v1_compatible": True,
            "run_user": "",
            "image_info": {
                "cpu_image_url": "modelarts-job-dev-image/caffe1-cpu-cp27:1.0.0",
                "gpu_image_url": "modelarts-job-dev-image/caffe1-gpu-cuda8-cp27:1.0.0",
                "image_version": "3.1.0",
            },
        },
        {
            "engine_id": "xgboost-sklearn-python3.6",
            "engine_name": "XGBoost-Sklearn",
            "engine_version": "XGBoost-0.80-Sklearn-0.18.1-python3.6",
            "v1_compatible": True,
            "run_user": "",
            "image_info": {
                "cpu_image_url": "modelarts-job-dev-image/python-train-py36:secure",
                "gpu_image_url": "",
                "image_version": "2.0.10-20211101113705",
            },
        },
    ],
}


def _without_nulls(value: Any) -> Any:
    """The example as an exclude_none dump would give it back."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


# -- requests -----------------------------------------------------------------------------
def test_reference_request_examples_validate() -> None:
    created = AlgorithmCreateIn.model_validate(CREATE_EXAMPLE)
    assert created.metadata.name == "TestModelArtsalgorithm"
    assert created.job_config is not None and created.job_config.engine is not None
    assert created.job_config.engine.engine_version == "PyTorch-1.3.0-python3.6"
    assert created.advanced_config is not None
    auto = created.advanced_config.auto_search
    assert auto is not None and auto.algo_configs is not None
    assert [p.key for p in auto.algo_configs[0].params or []][:2] == ["kind", "kappa"]
    assert _dump(created) == CREATE_EXAMPLE

    updated = AlgorithmUpdateIn.model_validate(UPDATE_EXAMPLE)
    assert updated.metadata is not None
    assert updated.metadata.description == "This is a ModelArts algorithm modified"
    assert _dump(updated) == UPDATE_EXAMPLE
    assert AlgorithmUpdateIn.model_validate({}).metadata is None


def _full_create_body() -> dict[str, Any]:
    """The create example with every optional field the request tables list."""
    body = copy.deepcopy(CREATE_EXAMPLE)
    body["metadata"].update(id=0, workspace_id="0", ai_project="default-ai-project")
    body["job_config"]["command"] = "python /home/work/run.py"
    body["job_config"]["engine"]["image_url"] = "swr.example/org/image:1"
    body["job_config"]["parameters"][0]["i18n_description"] = {
        "language": "zh-cn",
        "description": "x",
    }
    body["job_config"]["inputs"][0]["remote_constraints"] = [
        {"data_type": "Dataset", "attributes": [{"data_format": "Default"}]}
    ]
    body["resource_requirements"] = [
        {"key": "flavor_type", "values": ["CPU", "GPU"], "operator": "in"}
    ]
    body["advanced_config"]["auto_search"]["skip_search_params"] = "lr"
    body["advanced_config"]["auto_search"]["search_params"].append(
        {"name": "bs", "param_type": "discrete", "discrete_values": ["16", "32"]}
    )
    return body


def test_fields_the_sdk_sends_beyond_the_example_validate() -> None:
    body = _full_create_body()
    body["unknown_field"] = {"ignored": True}
    parsed = AlgorithmCreateIn.model_validate(body)
    assert parsed.resource_requirements is not None
    assert parsed.resource_requirements[0].values == ["CPU", "GPU"]
    del body["unknown_field"]
    assert _dump(parsed) == body


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b.pop("metadata"), id="no-metadata"),
        pytest.param(lambda b: b["metadata"].pop("name"), id="no-name"),
        pytest.param(lambda b: b["metadata"].update(name=""), id="empty-name"),
        pytest.param(lambda b: b["metadata"].update(name="a" * 65), id="long-name"),
        pytest.param(lambda b: b["metadata"].update(name="bad name"), id="space-in-name"),
        pytest.param(lambda b: b["metadata"].update(name="名字"), id="non-ascii-name"),
        pytest.param(lambda b: b["metadata"].update(description="d" * 257), id="long-desc"),
        pytest.param(lambda b: b["job_config"]["outputs"][0].pop("name"), id="output-no-name"),
        pytest.param(
            lambda b: b["job_config"].update(parameters_customization="maybe"), id="bad-bool"
        ),
        pytest.param(
            lambda b: b["advanced_config"]["auto_search"]["reward_attrs"][0].update(mode="up"),
            id="bad-reward-mode",
        ),
        pytest.param(
            lambda b: b.update(resource_requirements=[{"key": "gpu_count", "values": ["1"]}]),
            id="bad-requirement-key",
        ),
        pytest.param(
            lambda b: b.update(resource_requirements=[{"key": "flavor_type", "operator": "eq"}]),
            id="bad-requirement-operator",
        ),
        pytest.param(lambda b: b["job_config"].update(parameters={}), id="parameters-not-list"),
    ],
)
def test_bad_create_bodies_are_refused(change: Any) -> None:
    body = copy.deepcopy(CREATE_EXAMPLE)
    change(body)
    with pytest.raises(ValidationError):
        AlgorithmCreateIn.model_validate(body)


def test_boundary_names_and_descriptions_pass() -> None:
    body = copy.deepcopy(CREATE_EXAMPLE)
    body["metadata"].update(name="a-" + "b" * 61 + "_", description="d" * 256)
    assert len(AlgorithmCreateIn.model_validate(body).metadata.name) == 64
    with pytest.raises(ValidationError):
        AlgorithmUpdateIn.model_validate({"metadata": {"description": "no name"}})


def test_list_query_bounds() -> None:
    assert ALGORITHM_LIST_QUERY == (
        "offset",
        "limit",
        "sort_by",
        "order",
        "group_by",
        "searches",
        "workspace_id",
    )
    assert "create_time" in ALGORITHM_SORT_KEYS
    query = AlgorithmListQuery.model_validate({"limit": "1", "searches": "name:Test"})
    assert query.limit == 1 and query.searches == "name:Test"
    for bad in ({"limit": 0}, {"limit": 51}, {"offset": -1}, {"order": "up"}, {"sort_by": "x"}):
        with pytest.raises(ValidationError):
            AlgorithmListQuery.model_validate(bad)


def test_flavor_query_values() -> None:
    assert TRAINING_FLAVOR_TYPES == ("CPU", "GPU")
    assert TrainingFlavorsQuery.model_validate({"flavor_type": "CPU"}).flavor_type == "CPU"
    assert TrainingFlavorsQuery.model_validate({}).flavor_type is None
    with pytest.raises(ValidationError):
        TrainingFlavorsQuery.model_validate({"flavor_type": "cpu"})


# -- answers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "example"),
    [
        (AlgorithmOut, ALGORITHM_EXAMPLE),
        (AlgorithmListOut, LIST_EXAMPLE),
        (TrainingFlavorsOut, FLAVORS_EXAMPLE),
        (TrainingEnginesOut, ENGINES_EXAMPLE),
    ],
)
def test_answers_round_trip_the_reference_examples(
    model: type[BaseModel], example: dict[str, Any]
) -> None:
    assert _dump(model.model_validate(example)) == _without_nulls(example)


def test_answer_keys_keep_reference_names_when_built_in_code() -> None:
    out = AlgorithmOut(
        metadata=AlgorithmMetadataOut(id="x", name="n", is_valid=True, create_time=1),
        resource_requirements=[ResourceRequirementOut(key="flavor_type", value=["GPU"])],
    )
    assert _dump(out) == {
        "metadata": {"id": "x", "name": "n", "is_valid": True, "create_time": 1},
        "resource_requirements": [{"key": "flavor_type", "value": ["GPU"]}],
    }
    assert _dump(SearchParamOut(name="bs", discrete_values="16,32")) == {
        "name": "bs",
        "discrete_values": "16,32",
    }
    empty = AlgorithmListOut(total=0, count=0, limit=10, offset=0, items=[])
    assert _dump(empty) == {
        "total": 0,
        "count": 0,
        "limit": 10,
        "offset": 0,
        "sort_by": "create_time",
        "order": "desc",
        "group_by": "",
        "items": [],
    }


# -- the SDK reads every key we send --------------------------------------------------------
def _check_against_sdk(value: Any, sdk_type: str, module: Any, path: str) -> None:
    """Fails where a dumped key is not one the SDK's model declares, or where an object
    stands where the SDK expects a list (or the other way round)."""
    if sdk_type.startswith("list["):
        assert isinstance(value, list), f"{path}: SDK expects a list"
        for i, item in enumerate(value):
            _check_against_sdk(item, sdk_type[5:-1], module, f"{path}[{i}]")
        return
    if sdk_type.startswith("dict("):
        assert isinstance(value, dict), f"{path}: SDK expects a map"
        return
    cls = getattr(module, sdk_type, None)
    if cls is None:  # a primitive
        assert not isinstance(value, dict | list), f"{path}: SDK expects {sdk_type}"
        return
    assert isinstance(value, dict), f"{path}: SDK expects an object"
    by_key = {key: attr for attr, key in cls.attribute_map.items()}
    for key, item in value.items():
        assert key in by_key, f"{path}.{key} unknown to SDK {sdk_type}"
        _check_against_sdk(item, cls.openapi_types[by_key[key]], module, f"{path}.{key}")


@pytest.mark.parametrize(
    ("model", "example", "sdk_type"),
    [
        (AlgorithmOut, ALGORITHM_EXAMPLE, "ShowAlgorithmByUuidResponse"),
        (AlgorithmOut, ALGORITHM_EXAMPLE, "CreateAlgorithmResponse"),
        (AlgorithmOut, ALGORITHM_EXAMPLE, "ChangeAlgorithmResponse"),
        (AlgorithmListOut, LIST_EXAMPLE, "ListAlgorithmsResponse"),
        (TrainingFlavorsOut, FLAVORS_EXAMPLE, "ShowTrainingJobFlavorsResponse"),
        (TrainingEnginesOut, ENGINES_EXAMPLE, "ShowTrainingJobEnginesResponse"),
    ],
)
def test_answer_keys_match_the_sdk(
    model: type[BaseModel], example: dict[str, Any], sdk_type: str
) -> None:
    module = pytest.importorskip("huaweicloudsdkmodelarts.v1.model")
    _check_against_sdk(_dump(model.model_validate(example)), sdk_type, module, "$")


def test_request_keys_match_the_sdk() -> None:
    module = pytest.importorskip("huaweicloudsdkmodelarts.v1.model")
    for example in (CREATE_EXAMPLE, _full_create_body()):
        body = _dump(AlgorithmCreateIn.model_validate(example))
        _check_against_sdk(body, "Algorithm", module, "$")
    # The SDK's request classes send the same body for both calls.
    for name in ("CreateAlgorithmRequest", "ChangeAlgorithmRequest"):
        assert getattr(module, name).openapi_types["body"] == "Algorithm"
