"""Reading a model package's config.json: the documented shape, the documentation's own
typos, and pip requirements that are safe to hand to pip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openarts.domain.model_config import (
    CONFIG_MODEL_TYPES,
    ConfigDependency,
    ConfigPackage,
    ModelConfigFile,
    parse_model_config,
    requirements_of,
)

# The "config" string of the reference's model-details example, unpacked.
DETAIL_CONFIG: dict[str, Any] = {
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
    "apis": [
        {
            "protocol": "https",
            "url": "/",
            "method": "post",
            "request": {
                "data": {"type": "object", "properties": {"images": {"type": "file"}}},
                "Content-type": "multipart/form-data",
            },
            "response": {
                "data": {
                    "type": "object",
                    "required": ["predicted_label", "scores"],
                    "properties": {
                        "predicted_label": {"type": "string"},
                        "scores": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "minItems": 2,
                                "maxItems": 2,
                                "items": [{"type": "string"}, {"type": "number"}],
                            },
                        },
                    },
                },
                "Content-type": "multipart/form-data",
            },
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "numpy", "package_version": "1.17.0", "restraint": "EXACT"},
                {"package_name": "h5py", "package_version": "2.8.0", "restraint": "EXACT"},
                {"package_name": "Pillow", "package_version": "5.2.0", "restraint": "EXACT"},
                {"package_name": "scipy", "package_version": "1.2.1", "restraint": "EXACT"},
                {"package_name": "resampy", "package_version": "0.2.1", "restraint": "EXACT"},
                {
                    "package_name": "scikit-learn",
                    "package_version": "0.19.1",
                    "restraint": "EXACT",
                },
            ],
        }
    ],
    "health": {
        "check_method": "HTTP",
        "protocol": "http",
        "url": "/health",
        "period_seconds": "5",
        "failure_threshold": "10",
        "initial_delay_seconds": "12",
    },
    "readiness_health": {
        "check_method": "HTTP",
        "protocol": "http",
        "url": "/readiness_health",
        "period_seconds": "5",
        "failure_threshold": "20",
        "initial_delay_seconds": "12",
    },
    "startup_health": {
        "check_method": "HTTP",
        "protocol": "http",
        "url": "/startup_health",
        "period_seconds": "5",
        "failure_threshold": "10",
        "initial_delay_seconds": "12",
    },
}

# The shape of the user guide's sample, with its misspellings ("procotol",
# "applicaton/json", "item").
TYPO_CONFIG: dict[str, Any] = {
    "model_type": "TensorFlow",
    "model_algorithm": "object_detection",
    "metrics": {"f1": 0.345294, "accuracy": 0.462963, "precision": 0.338977, "recall": 0.351852},
    "apis": [
        {
            "procotol": "http",
            "url": "/",
            "method": "post",
            "request": {
                "Content-type": "multipart/form-data",
                "data": {"type": "object", "properties": {"images": {"type": "file"}}},
            },
            "response": {
                "Content-type": "applicaton/json",
                "data": {
                    "type": "object",
                    "properties": {
                        "detection_classes": {"type": "array", "item": [{"type": "string"}]}
                    },
                },
            },
        }
    ],
    "dependencies": [
        {
            "installer": "pip",
            "packages": [
                {"restraint": "ATLEAST", "package_version": "1.15.0", "package_name": "numpy"},
                {"restraint": "", "package_version": "", "package_name": "Pillow"},
            ],
        }
    ],
}

MINIMAL: dict[str, Any] = {"model_algorithm": "predict_analysis", "model_type": "XGBoost"}


def _parse(document: dict[str, Any]) -> ModelConfigFile:
    return parse_model_config(json.dumps(document))


def _error(document: dict[str, Any] | str) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(ValueError) as caught:
        parse_model_config(text)
    message = str(caught.value)
    assert message.startswith("config.json: "), message
    assert "\n" not in message, message
    return message


def _with(**changes: Any) -> dict[str, Any]:
    document = dict(MINIMAL)
    for key, value in changes.items():
        if value is ...:
            document.pop(key, None)
        else:
            document[key] = value
    return document


# -- the documented shape -----------------------------------------------------------------
def test_the_reference_details_config_is_read() -> None:
    config = _parse(DETAIL_CONFIG)
    assert config.model_algorithm == "image_classification"
    assert config.model_type == "TensorFlow"
    assert config.runtime == "tf1.13-python3.6-cpu"
    assert config.metrics is not None and config.metrics.recall == 0.9125
    api = config.apis[0]
    assert (api.protocol, api.method, api.url) == ("https", "POST", "/")
    assert api.request is not None and api.request.content_type == "multipart/form-data"
    assert api.response is not None and api.response.data is not None
    assert api.response.data["required"] == ["predicted_label", "scores"]
    assert config.health is not None
    assert (
        config.health.url,
        config.health.protocol,
        config.health.check_method,
        config.health.initial_delay_seconds,
        config.health.period_seconds,
        config.health.failure_threshold,
        config.health.timeout_seconds,
    ) == ("/health", "http", "HTTP", 12, 5, 10, None)
    assert config.readiness_health is not None and config.readiness_health.failure_threshold == 20
    assert config.startup_health is not None and config.startup_health.url == "/startup_health"
    assert config.pip_requirements() == [
        "numpy==1.17.0",
        "h5py==2.8.0",
        "Pillow==5.2.0",
        "scipy==1.2.1",
        "resampy==0.2.1",
        "scikit-learn==0.19.1",
    ]
    assert config.api_routes() == [("POST", "/")]


def test_the_details_example_string_itself_is_read() -> None:
    # As the answer carries it: JSON written compactly inside a string.
    text = json.dumps(DETAIL_CONFIG, separators=(",", ":"))
    assert parse_model_config(text).model_type == "TensorFlow"


def test_unknown_keys_are_kept() -> None:
    config = _parse(DETAIL_CONFIG)
    assert config.model_extra == {
        "model_source": "auto",
        "tunable": False,
        "downloadable_flag": True,
        "algorithm": "resnet_v2_50,mobilenet_v1",
    }
    extra = _parse(_with(input_params=[{"name": "x"}], apis=[{"url": "/", "timeout": 3}]))
    assert extra.model_extra == {"input_params": [{"name": "x"}]}
    assert extra.apis[0].model_extra == {"timeout": 3}


def test_defaults_of_a_minimal_file() -> None:
    config = _parse(MINIMAL)
    assert config.runtime is None
    assert config.swr_location is None
    assert config.metrics is None
    assert config.health is None
    assert config.apis == []
    assert config.dependencies == []
    assert config.pip_requirements() == []
    assert config.api_routes() == [("POST", "/")]
    api = _parse(_with(apis=[{}])).apis[0]
    assert (api.protocol, api.url, api.method, api.request, api.response) == (
        None,
        "/",
        "POST",
        None,
        None,
    )


@pytest.mark.parametrize("model_type", CONFIG_MODEL_TYPES)
def test_every_documented_model_type_is_read(model_type: str) -> None:
    document = _with(model_type=model_type.lower())
    if model_type == "Image":
        document["swr_location"] = "swr.example.com/org/image:1.0"
    assert _parse(document).model_type == model_type


def test_model_types_are_the_documented_ones() -> None:
    assert set(CONFIG_MODEL_TYPES) == {
        "TensorFlow",
        "MXNet",
        "Spark_MLlib",
        "Caffe",
        "Scikit_Learn",
        "XGBoost",
        "PyTorch",
        "MindSpore",
        "Image",
        "Custom",
    }


# -- the documentation's typos and other tolerance ----------------------------------------
def test_the_documented_typos_are_normalised() -> None:
    config = _parse(TYPO_CONFIG)
    api = config.apis[0]
    assert api.protocol == "http"
    assert "procotol" not in (api.model_extra or {})
    assert api.response is not None and api.response.content_type == "application/json"
    # The JSON Schema is kept as written, "item" included.
    assert api.response.data is not None
    assert "item" in api.response.data["properties"]["detection_classes"]
    # An empty version and restraint mean "any version".
    assert config.pip_requirements() == ["numpy>=1.15.0", "Pillow"]


def test_a_correct_protocol_wins_over_the_misspelt_one() -> None:
    config = _parse(_with(apis=[{"procotol": "http", "protocol": "https"}]))
    assert config.apis[0].protocol == "https"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Content-type", "application/json"),
        ("Content-Type", "APPLICATION/JSON"),
        ("content-type", " application/json "),
        ("Content-type", "applicaton/json"),
    ],
)
def test_content_type_spellings(key: str, value: str) -> None:
    config = _parse(_with(apis=[{"request": {key: value}}]))
    request = config.apis[0].request
    assert request is not None and request.content_type == "application/json"
    # Dumps use the file's spelling whether or not by_alias is asked for.
    assert request.model_dump(exclude_none=True) == {"Content-type": "application/json"}
    dumped = config.model_dump(mode="json", exclude_none=True)
    assert dumped["apis"][0]["request"] == {"Content-type": "application/json"}


def test_enumerations_are_read_in_any_case() -> None:
    config = _parse(
        _with(
            model_type="pytorch",
            apis=[{"protocol": "HTTPS", "method": "get", "url": "/predict"}],
            dependencies=[
                {
                    "installer": "PIP",
                    "packages": [
                        {"package_name": "torch", "package_version": "2.1", "restraint": "atmost"}
                    ],
                }
            ],
            health={"url": "/health", "protocol": "HTTP", "check_method": "http"},
        )
    )
    assert config.model_type == "PyTorch"
    assert (config.apis[0].protocol, config.apis[0].method) == ("https", "GET")
    assert config.pip_requirements() == ["torch<=2.1"]
    assert config.health is not None
    assert (config.health.protocol, config.health.check_method) == ("http", "HTTP")


@pytest.mark.parametrize("number", ["12", 12, " 12 ", 12.0])
def test_health_numbers_arrive_as_strings_or_numbers(number: object) -> None:
    health = {
        "url": "/health",
        "initial_delay_seconds": number,
        "timeout_seconds": number,
        "period_seconds": number,
        "failure_threshold": number,
    }
    config = _parse(_with(health=health))
    assert config.health is not None
    values = (
        config.health.initial_delay_seconds,
        config.health.timeout_seconds,
        config.health.period_seconds,
        config.health.failure_threshold,
    )
    assert values == (12, 12, 12, 12)
    assert all(type(value) is int for value in values)


def test_an_exec_probe_needs_a_command_instead_of_a_url() -> None:
    config = _parse(_with(health={"check_method": "EXEC", "command": "cat /tmp/ready"}))
    assert config.health is not None and config.health.command == "cat /tmp/ready"
    message = _error(_with(health={"check_method": "EXEC"}))
    assert message == "config.json: health: command is required when check_method is EXEC"
    message = _error(_with(health={"protocol": "http", "initial_delay_seconds": "1"}))
    assert message == "config.json: health: url is required for an HTTP health check"


def test_a_byte_order_mark_is_tolerated() -> None:
    assert parse_model_config("\ufeff" + json.dumps(MINIMAL)).model_type == "XGBoost"


# -- refusals -----------------------------------------------------------------------------
def test_a_bad_model_type_names_the_field_and_the_choices() -> None:
    assert _error(_with(model_type="Keras")) == (
        "config.json: model_type: 'Keras' must be one of TensorFlow, MXNet, Spark_MLlib, "
        "Caffe, Scikit_Learn, XGBoost, PyTorch, MindSpore, Image, Custom"
    )
    # Template models have no config.json.
    assert _error(_with(model_type="Template")).startswith("config.json: model_type: ")


@pytest.mark.parametrize("field", ["model_algorithm", "model_type"])
def test_required_fields(field: str) -> None:
    assert _error(_with(**{field: ...})) == f"config.json: {field}: is required"


@pytest.mark.parametrize(
    "algorithm",
    ["", "1abc", "_abc", "a" * 37, "a&b", "a!b", "a'b", 'a"b', "a<b", "a>b", "a=b"],
)
def test_bad_model_algorithms(algorithm: str) -> None:
    message = _error(_with(model_algorithm=algorithm))
    assert message.startswith("config.json: model_algorithm: ")
    assert "must start with a letter" in message


def test_a_36_character_algorithm_is_fine() -> None:
    assert _parse(_with(model_algorithm="a" * 36)).model_algorithm == "a" * 36


def test_an_image_model_needs_no_image_here() -> None:
    # Here an Image model is a command that serves HTTP, run from the imported folder.
    assert _parse(_with(model_type="Image")).swr_location is None


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"model_algorithm": 5}, "model_algorithm: "),
        ({"runtime": ""}, "runtime: "),
        ({"runtime": 3.6}, "runtime: "),
        ({"swr_location": ""}, "swr_location: "),
        ({"metrics": [0.5]}, "metrics: "),
        ({"metrics": {"f1": "high"}}, "metrics.f1: "),
        ({"apis": {"url": "/"}}, "apis: "),
        ({"apis": [{"url": "predict"}]}, "apis[0].url: "),
        ({"apis": [{"url": "/a b"}]}, "apis[0].url: "),
        ({"apis": [{"protocol": "ftp"}]}, "apis[0].protocol: "),
        ({"apis": [{"procotol": "ftp"}]}, "apis[0].protocol: "),
        ({"apis": [{"method": "PATCH"}]}, "apis[0].method: "),
        ({"apis": [{"request": {"Content-type": "text/plain"}}]}, "apis[0].request.Content-type: "),
        ({"apis": [{"response": {"data": "object"}}]}, "apis[0].response.data: "),
        ({"dependencies": {"installer": "pip"}}, "dependencies: "),
        ({"dependencies": [{"installer": "conda", "packages": []}]}, "dependencies[0].installer: "),
        (
            {"dependencies": [{"installer": "pip", "packages": [{"package_version": "1"}]}]},
            "dependencies[0].packages[0].package_name: ",
        ),
        (
            {
                "dependencies": [
                    {
                        "installer": "pip",
                        "packages": [{"package_name": "a", "restraint": "ABOUT"}],
                    }
                ]
            },
            "dependencies[0].packages[0].restraint: ",
        ),
        ({"health": "/health"}, "health: "),
        (
            {"health": {"url": "/h", "initial_delay_seconds": "soon"}},
            "health.initial_delay_seconds: ",
        ),
        ({"health": {"url": "/h", "timeout_seconds": True}}, "health.timeout_seconds: "),
        ({"health": {"url": "/h", "timeout_seconds": 0}}, "health.timeout_seconds: "),
        ({"health": {"url": "/h", "period_seconds": "1.5"}}, "health.period_seconds: "),
        ({"health": {"url": "/h", "period_seconds": "\u00b2"}}, "health.period_seconds: "),
        ({"health": {"url": "/h", "period_seconds": "+5"}}, "health.period_seconds: "),
        ({"health": {"url": "/h", "initial_delay_seconds": -1}}, "health.initial_delay_seconds: "),
        ({"health": {"url": "/h", "failure_threshold": "0"}}, "health.failure_threshold: "),
        ({"health": {"url": "health"}}, "health.url: "),
        ({"health": {"url": "/h", "check_method": "TCP"}}, "health.check_method: "),
        (
            {"readiness_health": {"url": "/h", "period_seconds": "x"}},
            "readiness_health.period_seconds: ",
        ),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], where: str) -> None:
    message = _error(_with(**changes))
    assert message.startswith(f"config.json: {where}"), message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "config.json: not valid JSON: Expecting value (line 1, column 1)"),
        ("{", "config.json: not valid JSON: Expecting property name enclosed in double quotes"),
        ("[]", "config.json: must be a JSON object, not an array"),
        ('"config"', "config.json: must be a JSON object, not a string"),
        ("3", "config.json: must be a JSON object, not a number"),
        ("null", "config.json: must be a JSON object, not null"),
    ],
)
def test_text_that_is_not_a_json_object(text: str, message: str) -> None:
    assert _error(text).startswith(message)


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    message = _error(_with(model_type="x" * 500))
    assert len(message) < 250
    assert "..." in message


def test_the_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^config\.json: model_type: "):
        parse_model_config(json.dumps(_with(model_type="Keras")))


# -- pip requirements ---------------------------------------------------------------------
def _packages(*packages: dict[str, Any], installer: str = "pip") -> dict[str, Any]:
    return _with(dependencies=[{"installer": installer, "packages": list(packages)}])


def test_restraints_become_pip_comparisons() -> None:
    config = _parse(
        _packages(
            {"package_name": "numpy", "package_version": "1.17.0", "restraint": "EXACT"},
            {"package_name": "scipy", "package_version": "1.2.1", "restraint": "ATLEAST"},
            {"package_name": "h5py", "package_version": "2.8.0", "restraint": "ATMOST"},
            {"package_name": "Pillow"},
            {"package_name": "requests", "restraint": "ATLEAST"},
            # A version with no restraint names exactly that version.
            {"package_name": "pandas", "package_version": "2.2.0"},
            {
                "package_name": "uvicorn[standard]",
                "package_version": "0.30.0",
                "restraint": "EXACT",
            },
            {"package_name": "torch", "package_version": "2.1.0+cpu", "restraint": "EXACT"},
            {"package_name": "zope.interface", "package_version": "6.*", "restraint": "EXACT"},
        )
    )
    assert config.pip_requirements() == [
        "numpy==1.17.0",
        "scipy>=1.2.1",
        "h5py<=2.8.0",
        "Pillow",
        "requests",
        "pandas==2.2.0",
        "uvicorn[standard]==0.30.0",
        "torch==2.1.0+cpu",
        "zope.interface==6.*",
    ]


def test_dependency_groups_are_installed_in_list_order() -> None:
    config = _parse(
        _with(
            dependencies=[
                {"installer": "pip", "packages": [{"package_name": "b"}, {"package_name": "a"}]},
                {"installer": "pip", "packages": []},
                {"installer": "pip", "packages": [{"package_name": "c"}]},
            ]
        )
    )
    assert config.pip_requirements() == ["b", "a", "c"]


def test_surrounding_spaces_are_trimmed() -> None:
    config = _parse(_packages({"package_name": " numpy ", "package_version": " 1.0 "}))
    assert config.pip_requirements() == ["numpy==1.0"]


@pytest.mark.parametrize(
    "name",
    [
        "numpy; rm -rf /",
        "--index-url=http://x",
        "--extra-index-url",
        "-r",
        "-e",
        "-rrequirements.txt",
        "numpy --pre",
        "numpy\n--index-url=http://x",
        "numpy==1.0",
        "numpy>=1",
        "numpy @ https://example.com/numpy.whl",
        "https://example.com/pkg.tar.gz",
        "./local/pkg",
        "pkg`id`",
        "$(id)",
        "a|b",
        "a&&b",
        "a>b",
        "a'b",
        ".hidden",
        "pkg-",
        "pkg[extra",
        "",
    ],
)
def test_package_names_that_are_not_pip_tokens_are_refused(name: str) -> None:
    message = _error(_packages({"package_name": name}))
    assert message.startswith("config.json: dependencies[0].packages[0].package_name: "), message


@pytest.mark.parametrize(
    "version",
    [
        "1.0; rm -rf /",
        "--pre",
        "-1",
        "1.0 --index-url=http://x",
        ">=1.0",
        "==1.0",
        "1.0,<2",
        "1.0|x",
        "1.0&&x",
        "$(id)",
        "1.0\nx",
        "v" * 65,
    ],
)
def test_versions_that_are_not_pip_tokens_are_refused(version: str) -> None:
    message = _error(
        _packages({"package_name": "numpy", "package_version": version, "restraint": "EXACT"})
    )
    assert message.startswith("config.json: dependencies[0].packages[0].package_version: "), message


def test_pip_requirements_checks_again_after_a_change() -> None:
    config = _parse(_packages({"package_name": "numpy", "package_version": "1.0"}))
    config.dependencies[0].packages[0].package_name = "--index-url=http://x"
    with pytest.raises(ValueError, match=r"^dependencies\[0\]\.packages\[0\]\.package_name: "):
        config.pip_requirements()
    config.dependencies[0].packages[0].package_name = "numpy"
    config.dependencies[0].packages[0].package_version = "1.0; rm -rf /"
    with pytest.raises(ValueError, match=r"^dependencies\[0\]\.packages\[0\]\.package_version: "):
        config.pip_requirements()


def test_pip_requirements_refuses_packages_built_without_validation() -> None:
    bad = ConfigPackage.model_construct(
        package_name="numpy", package_version="--pre", restraint="ATLEAST"
    )
    with pytest.raises(ValueError, match="package_version"):
        bad.requirement()
    config = ModelConfigFile.model_construct(
        model_algorithm="a",
        model_type="PyTorch",
        apis=[],
        dependencies=[
            ConfigDependency.model_construct(
                installer="pip",
                packages=[ConfigPackage.model_construct(package_name="numpy; rm -rf /")],
            )
        ],
    )
    with pytest.raises(ValueError, match=r"^dependencies\[0\]\.packages\[0\]\.package_name"):
        config.pip_requirements()
    config.dependencies[0].installer = "conda"  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"^dependencies\[0\]\.installer: 'conda'"):
        config.pip_requirements()


def test_only_pip_is_an_installer() -> None:
    for installer in ("conda", "apt-get", "yum"):
        message = _error(_packages({"package_name": "x"}, installer=installer))
        assert (
            message == f"config.json: dependencies[0].installer: '{installer}' must be one of pip"
        )


def test_requirements_of_a_request_dependencies_list() -> None:
    dependencies = [
        {
            "installer": "pip",
            "packages": [
                {"package_name": "numpy", "package_version": "1.5.0", "restraint": "ATLEAST"},
                {"package_name": "Pillow"},
            ],
        },
        {"installer": "pip", "packages": [{"package_name": "h5py", "package_version": "2.8"}]},
    ]
    assert requirements_of(dependencies) == ["numpy>=1.5.0", "Pillow", "h5py==2.8"]
    assert requirements_of([]) == []
    assert requirements_of(None) == []


@pytest.mark.parametrize(
    ("dependencies", "message"),
    [
        ({"installer": "pip"}, "dependencies: Input should be a valid list"),
        ([{"installer": "yum", "packages": []}], "dependencies[0].installer: 'yum' must be"),
        (
            [{"installer": "pip", "packages": [{"package_name": "--index-url=http://x"}]}],
            "dependencies[0].packages[0].package_name: '--index-url=http://x' is not a pip",
        ),
        (
            [{"installer": "pip", "packages": [{}]}],
            "dependencies[0].packages[0].package_name: is required",
        ),
    ],
)
def test_requirements_of_refuses_bad_lists(dependencies: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        requirements_of(dependencies)
    assert str(caught.value).startswith(message), str(caught.value)


# -- API routes ---------------------------------------------------------------------------
def test_api_routes_follow_the_declarations() -> None:
    config = _parse(
        _with(
            apis=[
                {"url": "/predict", "method": "post"},
                {"url": "/", "method": "GET"},
                {"url": "/predict"},
                {"method": "put", "url": "/v1/items"},
            ]
        )
    )
    assert config.api_routes() == [("POST", "/predict"), ("GET", "/"), ("PUT", "/v1/items")]
