"""The S3 XML documents: responses built with ElementTree, requests parsed with defusedxml."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeTree

from openarts.obs_endpoint.errors import S3Error
from openarts.storage.base import BucketInfo, ListPage, ObjectInfo, PartInfo, UploadInfo

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNER_ID = "openarts"


def iso_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def http_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _document(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode()


def _root(name: str) -> Element:
    return Element(name, xmlns=NAMESPACE)


def _add(parent: Element, name: str, text: object) -> Element:
    child = SubElement(parent, name)
    child.text = str(text)
    return child


def error(code: str, message: str, resource: str, request_id: str) -> bytes:
    root = Element("Error")
    _add(root, "Code", code)
    _add(root, "Message", message)
    _add(root, "Resource", resource)
    _add(root, "RequestId", request_id)
    return _document(root)


def list_buckets(buckets: list[BucketInfo]) -> bytes:
    root = _root("ListAllMyBucketsResult")
    owner = SubElement(root, "Owner")
    _add(owner, "ID", OWNER_ID)
    _add(owner, "DisplayName", OWNER_ID)
    container = SubElement(root, "Buckets")
    for bucket in buckets:
        entry = SubElement(container, "Bucket")
        _add(entry, "Name", bucket.name)
        _add(entry, "CreationDate", iso_time(bucket.created_ms))
    return _document(root)


def location(region: str) -> bytes:
    root = _root("LocationConstraint")
    root.text = region
    return _document(root)


def _object_entry(parent: Element, info: ObjectInfo, encode: bool) -> None:
    entry = SubElement(parent, "Contents")
    _add(entry, "Key", _encoded(info.key, encode))
    _add(entry, "LastModified", iso_time(info.last_modified_ms))
    _add(entry, "ETag", f'"{info.etag}"')
    _add(entry, "Size", info.size)
    _add(entry, "StorageClass", "STANDARD")


def _encoded(text: str, encode: bool) -> str:
    return quote(text, safe="/~") if encode else text


def list_objects(
    *,
    bucket: str,
    page: ListPage,
    prefix: str,
    delimiter: str,
    max_keys: int,
    encode: bool,
    v2: bool,
    marker: str = "",
    continuation_token: str | None = None,
    next_token: str | None = None,
    start_after: str | None = None,
) -> bytes:
    root = _root("ListBucketResult")
    _add(root, "Name", bucket)
    _add(root, "Prefix", _encoded(prefix, encode))
    if v2:
        if continuation_token:
            _add(root, "ContinuationToken", continuation_token)
        if start_after:
            _add(root, "StartAfter", _encoded(start_after, encode))
        _add(root, "KeyCount", len(page.objects) + len(page.common_prefixes))
        if next_token:
            _add(root, "NextContinuationToken", next_token)
    else:
        _add(root, "Marker", _encoded(marker, encode))
        if page.is_truncated and page.next_marker:
            _add(root, "NextMarker", _encoded(page.next_marker, encode))
    _add(root, "MaxKeys", max_keys)
    if delimiter:
        _add(root, "Delimiter", _encoded(delimiter, encode))
    if encode:
        _add(root, "EncodingType", "url")
    _add(root, "IsTruncated", "true" if page.is_truncated else "false")
    for info in page.objects:
        _object_entry(root, info, encode)
    for common in page.common_prefixes:
        _add(SubElement(root, "CommonPrefixes"), "Prefix", _encoded(common, encode))
    return _document(root)


def list_uploads(
    bucket: str,
    prefix: str,
    key_marker: str,
    id_marker: str,
    max_uploads: int,
    uploads: list[UploadInfo],
    truncated: bool,
) -> bytes:
    root = _root("ListMultipartUploadsResult")
    _add(root, "Bucket", bucket)
    _add(root, "KeyMarker", key_marker)
    _add(root, "UploadIdMarker", id_marker)
    if truncated and uploads:
        _add(root, "NextKeyMarker", uploads[-1].key)
        _add(root, "NextUploadIdMarker", uploads[-1].upload_id)
    _add(root, "Prefix", prefix)
    _add(root, "MaxUploads", max_uploads)
    _add(root, "IsTruncated", "true" if truncated else "false")
    for upload in uploads:
        entry = SubElement(root, "Upload")
        _add(entry, "Key", upload.key)
        _add(entry, "UploadId", upload.upload_id)
        _add(entry, "StorageClass", "STANDARD")
        _add(entry, "Initiated", iso_time(upload.initiated_ms))
    return _document(root)


def initiate_multipart(bucket: str, key: str, upload_id: str) -> bytes:
    root = _root("InitiateMultipartUploadResult")
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "UploadId", upload_id)
    return _document(root)


def complete_multipart(location_url: str, bucket: str, key: str, etag: str) -> bytes:
    root = _root("CompleteMultipartUploadResult")
    _add(root, "Location", location_url)
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "ETag", f'"{etag}"')
    return _document(root)


def list_parts(bucket: str, key: str, upload_id: str, parts: list[PartInfo]) -> bytes:
    root = _root("ListPartsResult")
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "UploadId", upload_id)
    _add(root, "MaxParts", 10000)
    _add(root, "IsTruncated", "false")
    for part in parts:
        entry = SubElement(root, "Part")
        _add(entry, "PartNumber", part.number)
        _add(entry, "LastModified", iso_time(part.last_modified_ms))
        _add(entry, "ETag", f'"{part.etag}"')
        _add(entry, "Size", part.size)
    return _document(root)


def copy_result(info: ObjectInfo) -> bytes:
    root = _root("CopyObjectResult")
    _add(root, "LastModified", iso_time(info.last_modified_ms))
    _add(root, "ETag", f'"{info.etag}"')
    return _document(root)


def copy_part_result(part: PartInfo) -> bytes:
    root = _root("CopyPartResult")
    _add(root, "LastModified", iso_time(part.last_modified_ms))
    _add(root, "ETag", f'"{part.etag}"')
    return _document(root)


def delete_result(deleted: list[str], failed: list[tuple[str, str, str]], quiet: bool) -> bytes:
    root = _root("DeleteResult")
    if not quiet:
        for key in deleted:
            _add(SubElement(root, "Deleted"), "Key", key)
    for key, code, message in failed:
        entry = SubElement(root, "Error")
        _add(entry, "Key", key)
        _add(entry, "Code", code)
        _add(entry, "Message", message)
    return _document(root)


# -- request bodies ---------------------------------------------------------------------
def _parse(body: bytes) -> Element:
    try:
        root: Element = SafeTree.fromstring(body)
    except Exception:
        raise S3Error("MalformedXML", "The XML you provided was not well-formed") from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "") if found else None


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    root = _parse(body)
    parts = []
    for part in _children(root, "Part"):
        number, etag = _text(part, "PartNumber"), _text(part, "ETag")
        if number is None or etag is None or not (number.isascii() and number.isdigit()):
            raise S3Error("MalformedXML", "each Part needs a PartNumber and an ETag")
        parts.append((int(number), etag.strip().strip('"')))
    return parts


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    root = _parse(body)
    keys = []
    for item in _children(root, "Object"):
        key = _text(item, "Key")
        if key is None:
            raise S3Error("MalformedXML", "each Object needs a Key")
        keys.append(key)
    if len(keys) > 1000:
        raise S3Error("MalformedXML", "at most 1000 keys can be deleted at once")
    return keys, (_text(root, "Quiet") or "").lower() == "true"


def parse_location(body: bytes) -> str | None:
    if not body.strip():
        return None
    root = _parse(body)
    if _local(root.tag) == "LocationConstraint":
        return root.text
    return _text(root, "LocationConstraint") or _text(root, "Location")
