"""Reading requests and packages: bodies, multipart, JSON text and config.json."""

from __future__ import annotations

import io
import json

import pytest

from openarts.inference.multipart import MultipartError, parse_header_parameters, parse_multipart
from openarts.inference.package_config import PackageConfigError, parse_package_config
from openarts.inference.request_body import BodyError, read_json_text, read_payload
from openarts.inference.request_text import RequestText

BOUNDARY = "----b0und"


def multipart(*parts: bytes) -> bytes:
    body = b"preamble\r\n"
    for part in parts:
        body += b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n"
    return body + b"--" + BOUNDARY.encode() + b"--\r\n"


def test_multipart_files_by_field_and_name_and_text_fields() -> None:
    body = multipart(
        b'Content-Disposition: form-data; name="images"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\x00\r\n--not-a-boundary\xff",
        b'Content-Disposition: form-data; name="images"; filename="b.jpg"\r\n\r\nB',
        b'Content-Disposition: form-data; name="note"\r\n\r\nfirst',
        b'Content-Disposition: form-data; name="note"\r\n\r\nsecond',
        b"Content-Disposition: form-data; name=\"utf\"; filename*=UTF-8''%E7%8C%AB.png\r\n\r\nC",
    )
    fields = parse_multipart(body, BOUNDARY)
    assert set(fields) == {"images", "note", "utf"}
    images = fields["images"]
    assert list(images) == ["a.jpg", "b.jpg"]
    assert isinstance(images["a.jpg"], io.BytesIO)
    assert images["a.jpg"].read() == b"\x00\r\n--not-a-boundary\xff"
    assert images["b.jpg"].read() == b"B"
    assert fields["note"] == "first"
    assert fields["utf"]["猫.png"].read() == b"C"


@pytest.mark.parametrize(
    "body",
    [
        b"no boundary here",
        b"--"
        + BOUNDARY.encode()
        + b"\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated",
        multipart(b"Content-Disposition: form-data\r\n\r\nnameless"),
        multipart(b"Content-Disposition: form-data; name=x\r\nno blank line"),
    ],
)
def test_broken_multipart_is_refused(body: bytes) -> None:
    with pytest.raises(MultipartError):
        parse_multipart(body, BOUNDARY)


def test_header_parameters() -> None:
    assert parse_header_parameters('Form-Data; name="a \\"b\\""; filename=c.txt') == (
        "form-data",
        {"name": 'a "b"', "filename": "c.txt"},
    )
    assert parse_header_parameters("application/json") == ("application/json", {})


def test_json_payload_takes_the_query_parameters() -> None:
    payload = read_payload(b"application/json", b'{"a": 1, "b": 2}', b"b=3&c=")
    assert payload == {"a": 1, "b": "3", "c": ""}
    # A JSON array has nowhere to put parameters and is left alone.
    assert read_payload(b"application/json", b"[1, 2]", b"x=1") == [1, 2]


def test_payload_shapes_by_content_type() -> None:
    # curl -d labels JSON as a form: the first character says it is JSON.
    assert read_payload(b"application/x-www-form-urlencoded", b' {"a": 1}', b"") == {"a": 1}
    assert read_payload(None, b'{"a": 1}', b"") == {"a": 1}
    assert read_payload(b"application/x-www-form-urlencoded", b"a=1&b=%20", b"") == {
        "a": "1",
        "b": " ",
    }
    form = read_payload(
        f"multipart/form-data; boundary={BOUNDARY}".encode(),
        multipart(b'Content-Disposition: form-data; name="t"\r\n\r\nv'),
        b"q=1",
    )
    assert form == {"t": "v", "q": "1"}
    assert read_payload(b"application/json", b"", b"q=1") == {"q": "1"}


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (b"application/json", b"{broken", "not valid JSON"),
        (b"application/json", b"", "no body"),
        (b"text/csv", b"1,2,3", "unsupported content type text/csv"),
        (b"multipart/form-data", b"x", "without a boundary"),
        (b"application/json", b"\xff\xfe{", "not valid JSON"),
    ],
)
def test_unreadable_payloads(content_type: bytes, body: bytes, reason: str) -> None:
    with pytest.raises(BodyError, match=reason):
        read_payload(content_type, body, b"")


def test_json_text_for_ml_models() -> None:
    text = read_json_text(b"application/json; charset=utf-8", b'{"data": {"req_data": [1]}}')
    assert isinstance(text, RequestText)
    assert json.loads(text) == {"data": {"req_data": [1]}}
    assert text["data"] == {"req_data": [1]}
    assert text[0] == "{"
    assert text.get("meta") is None
    assert list(text.keys()) == ["data"]
    with pytest.raises(BodyError, match="JSON body, not multipart/form-data"):
        read_json_text(b"multipart/form-data; boundary=x", b"--x--")
    with pytest.raises(BodyError, match="not valid JSON"):
        read_json_text(None, b"{")


def test_request_text_of_a_json_array_refuses_key_lookups() -> None:
    text = RequestText("[1]", [1])
    with pytest.raises(TypeError, match="JSON list, not an object"):
        text["data"]


def test_package_config_routes_and_feature_names() -> None:
    row = {"type": "object", "properties": {"b": {}, "a": {}}}
    req_data = {"type": "array", "items": [row]}
    schema = {"properties": {"data": {"properties": {"req_data": req_data}}}}
    config = parse_package_config(
        json.dumps(
            {
                "model_type": "Scikit_Learn",
                "apis": [
                    {"procotol": "http", "url": "/", "method": "post"},
                    {"url": "predict", "method": "get", "request": {"data": schema}},
                ],
            }
        )
    )
    assert config.model_type == "Scikit_Learn"
    assert config.routes == (("POST", "/"), ("GET", "/predict"))
    assert config.feature_names == ("b", "a")


def test_package_config_defaults_and_refusals() -> None:
    config = parse_package_config("{}")
    assert config.model_type is None
    assert config.routes == (("POST", "/"),)
    assert config.feature_names is None
    with pytest.raises(PackageConfigError, match="not valid JSON"):
        parse_package_config("{")
    with pytest.raises(PackageConfigError, match="bad method/url"):
        parse_package_config('{"apis": [{"url": 3}]}')
