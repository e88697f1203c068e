"""The embedded S3-compatible endpoint (path-style), serving the configured store.

Callers sign with the platform's own AK/SK. A bucket belongs to a project; a caller
reaches the buckets of the projects they are a member of, and no others; a task's
temporary credential reaches its project's buckets while its work runs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import unquote

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from openarts import memory
from openarts.cache import TtlCache
from openarts.db.engine import Database
from openarts.obs_endpoint import bodies, signatures, xml
from openarts.obs_endpoint.errors import S3Error
from openarts.obs_endpoint.file_body import FileSliceResponse
from openarts.security.secrets_box import SecretBox
from openarts.services import buckets as bucket_records
from openarts.services import identity, task_credentials
from openarts.settings import Settings
from openarts.storage import base
from openarts.storage.base import (
    ByteRange,
    NoSuchBucket,
    ObjectInfo,
    ObjectStore,
    StorageError,
    UploadInfo,
)
from openarts.storage.paths import InvalidPath, check_bucket, check_key, check_prefix
from openarts.storage.presign import EXPIRES_PARAM, SIGNATURE_PARAM, PlatformPresigner

# Upload bodies are hashed and written in blocks of this size: as fast as 1 MiB blocks
# here (hashing dominates), and boto3's ten parts at once hold a quarter of the memory
# (benchmarks/storage.py: +19 MiB at the peak against +43 MiB).
BODY_BLOCK = 256 * 1024

log = logging.getLogger("openarts.obs")

XML = "application/xml"
META_PREFIXES = ("x-amz-meta-", "x-obs-meta-")
HANDLED_SUBRESOURCES = {"uploads", "uploadId", "partNumber", "delete", "location", "list-type"}
IGNORED_SUBRESOURCES = {"versionId", "x-id"}


@dataclass(frozen=True, slots=True)
class ObsParts:
    """What the endpoint needs of the platform (the composition root gives it)."""

    store: ObjectStore
    db: Database
    box: SecretBox
    presigner: PlatformPresigner
    settings: Settings


@dataclass(frozen=True, slots=True)
class Account:
    secret_key: str
    user_id: str
    project_ids: tuple[str, ...]


NO_ACCOUNT = Account("", "", ())


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated S3 request, parsed."""

    request: Request
    bucket: str
    key: str
    query: dict[str, str]
    headers: dict[str, str]
    account: Account
    payload_hash: str
    request_id: str


class S3Endpoint:
    def __init__(self, parts: ObsParts, *, cache_ttl_s: float) -> None:
        self.parts = parts
        self._accounts: TtlCache[str, Account] = TtlCache(cache_ttl_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = uuid.uuid4().hex
        try:
            response = await self._handle(request, request_id)
        except S3Error as exc:
            response = self._error(request, exc, request_id)
        except StorageError as exc:
            response = self._error(request, S3Error(exc.code, exc.message), request_id)
        except Exception:
            log.exception("S3 request %s failed: %s %s", request_id, request.method, scope["path"])
            response = self._error(
                request,
                S3Error("InternalError", f"Internal error. Request ID: {request_id}."),
                request_id,
            )
        response.headers["x-amz-request-id"] = request_id
        response.headers["x-obs-request-id"] = request_id
        await response(scope, receive, send)

    @staticmethod
    def _error(request: Request, exc: S3Error, request_id: str) -> Response:
        if request.method == "HEAD":
            return Response(status_code=exc.status)
        body = xml.error(exc.code, exc.message, request.url.path, request_id)
        response = Response(body, status_code=exc.status, media_type=XML)
        if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in (
            request.headers
        ):
            # The body may be unread; closing keeps its bytes from being taken for the
            # next request on this connection.
            response.headers["Connection"] = "close"
        return response

    # -- parsing and authentication ------------------------------------------------------
    async def _handle(self, request: Request, request_id: str) -> Response:
        scope = request.scope
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        pairs = _query_pairs(scope.get("query_string", b"").decode("latin-1"))
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            path = unquote(raw_path, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise S3Error("InvalidURI", "the path is not valid UTF-8") from None
        bucket, _, key = path.lstrip("/").partition("/")
        query = dict(pairs)
        if SIGNATURE_PARAM in query:
            return await self._platform_presigned(request, bucket, key, query)
        verified = await signatures.authenticate(
            signatures.SignedRequest(request.method, raw_path, pairs, headers),
            self._secret_for,
            datetime.now(UTC),
        )
        account = await self._account(verified.access_key)
        unknown = set(query) - HANDLED_SUBRESOURCES - IGNORED_SUBRESOURCES - _PARAMETERS
        if unknown:
            raise S3Error("NotImplemented", f"{', '.join(sorted(unknown))} is not supported here")
        call = Call(
            request, bucket, key, query, headers, account, verified.payload_hash, request_id
        )
        if not bucket:
            if request.method != "GET":
                raise S3Error("MethodNotAllowed", "only GET (ListBuckets) is allowed on /")
            return await self._list_buckets(call)
        try:
            check_bucket(bucket)
            if key:
                check_key(key)
        except InvalidPath as exc:
            raise S3Error("InvalidBucketName" if not key else "InvalidArgument", str(exc)) from None
        if key:
            return await self._object(call)
        return await self._bucket(call)

    async def _platform_presigned(
        self, request: Request, bucket: str, key: str, query: dict[str, str]
    ) -> Response:
        refusal = self.parts.presigner.check(
            request.method, bucket, key, query.get(EXPIRES_PARAM, ""), query[SIGNATURE_PARAM]
        )
        if refusal is not None:
            raise S3Error("AccessDenied", refusal)
        try:
            check_bucket(bucket)
            check_key(key)
        except InvalidPath as exc:
            raise S3Error("InvalidArgument", str(exc)) from None
        call = Call(
            request, bucket, key, {}, dict(request.headers), NO_ACCOUNT, signatures.UNSIGNED, ""
        )
        return await self._get(call, head=request.method == "HEAD")

    async def _secret_for(self, access_key: str) -> str | None:
        account = await self._load_account(access_key)
        return account.secret_key if account else None

    async def _load_account(self, access_key: str) -> Account | None:
        cached = self._accounts.get(access_key)
        if cached is not None:
            return cached
        parts = self.parts
        db, box = parts.db, parts.box
        async with db.session() as session:
            found = await identity.lookup_credential(session, access_key)
            if found is None:
                # A task's credential: its project's buckets, while its workload runs;
                # looked up at every request (never cached), so it ends with the work.
                task = await task_credentials.lookup(session, access_key)
                if task is None:
                    return None
                return Account(
                    box.decrypt(task.secret_encrypted),
                    f"workload:{task.workload_id}",
                    (task.project_id,),
                )
            projects = await identity.projects_of(session, found.user.id)
        account = Account(
            box.decrypt(found.secret_encrypted), found.user.id, tuple(p.id for p in projects)
        )
        self._accounts.put(access_key, account)
        return account

    async def _account(self, access_key: str) -> Account:
        account = await self._load_account(access_key)
        if account is None:
            raise S3Error("InvalidAccessKeyId", "the access key does not exist")
        return account

    async def _check_access(self, bucket: str, account: Account) -> None:
        db = self.parts.db
        async with db.session() as session:
            owner = await bucket_records.owner_of(session, bucket)
        if owner is None:
            raise S3Error("NoSuchBucket", f"The specified bucket {bucket} does not exist")
        if owner not in account.project_ids:
            raise S3Error("AccessDenied", f"Access to bucket {bucket} is denied")

    # -- service and buckets -------------------------------------------------------------
    async def _list_buckets(self, call: Call) -> Response:
        db = self.parts.db
        async with db.session() as session:
            owned = await bucket_records.buckets_of(session, list(call.account.project_ids))
        listed = [base.BucketInfo(b.name, b.created_at) for b in owned]
        return Response(xml.list_buckets(listed), media_type=XML)

    async def _bucket(self, call: Call) -> Response:
        method, query = call.request.method, call.query
        if method == "PUT" and not query:
            return await self._create_bucket(call)
        await self._check_access(call.bucket, call.account)
        parts = self.parts
        store, db = parts.store, parts.db
        if method == "HEAD":
            return Response(headers={"x-amz-bucket-region": "openarts"})
        if method == "DELETE" and not query:
            with contextlib.suppress(NoSuchBucket):  # already gone from the store
                await store.delete_bucket(call.bucket)
            async with db.session() as session, session.begin():
                await bucket_records.forget_bucket(session, call.bucket)
            return Response(status_code=204)
        if method == "GET" and "location" in query:
            return Response(xml.location(""), media_type=XML)
        if method == "GET" and "uploads" in query:
            return await self._list_uploads(call)
        if method == "GET":
            return await self._list_objects(call)
        if method == "POST" and "delete" in query:
            return await self._delete_objects(call)
        raise S3Error(
            "NotImplemented", f"{method} on a bucket with {sorted(query)} is not supported"
        )

    async def _create_bucket(self, call: Call) -> Response:
        parts = self.parts
        store, db = parts.store, parts.db
        body = await _small_body(call.request)
        constraint = xml.parse_location(body)
        projects = list(call.account.project_ids)
        if call.bucket == parts.settings.system_bucket:
            # The platform's own bucket (log links): never any project's.
            raise S3Error("BucketAlreadyExists", f"bucket {call.bucket} already exists")
        async with db.session() as session:
            owner = await bucket_records.owner_of(session, call.bucket)
            if owner is not None:
                code = "BucketAlreadyOwnedByYou" if owner in projects else "BucketAlreadyExists"
                raise S3Error(code, f"bucket {call.bucket} already exists")
            if constraint:
                project_id = await bucket_records.project_by_reference(
                    session, constraint, projects
                )
                if project_id is None:
                    raise S3Error(
                        "InvalidLocationConstraint",
                        f"LocationConstraint {constraint!r} is not a project you belong to",
                    )
            elif projects:
                # Without a LocationConstraint, the bucket goes to the caller's default
                # project: the first one they joined.
                project_id = projects[0]
            else:
                raise S3Error("AccessDenied", "you are not a member of any project")
        if await store.bucket_exists(call.bucket):
            # In the store but owned by no project (another tenant's, on a shared S3
            # account): never hand it, and what is in it, to whoever asks first.
            raise S3Error("BucketAlreadyExists", f"bucket {call.bucket} already exists")
        await store.create_bucket(call.bucket)
        try:
            async with db.session() as session, session.begin():
                await bucket_records.record_bucket(session, name=call.bucket, project_id=project_id)
        except IntegrityError:
            raise S3Error("BucketAlreadyExists", f"bucket {call.bucket} already exists") from None
        return Response(headers={"Location": f"/{call.bucket}"})

    async def _list_uploads(self, call: Call) -> Response:
        """ListMultipartUploads: the uploads begun and not ended, by key, one page."""
        query = call.query
        prefix = query.get("prefix", "")
        key_marker = query.get("key-marker", "")
        id_marker = query.get("upload-id-marker", "")
        max_uploads = _listing_limits(prefix, query, "max-uploads")
        uploads = await self.parts.store.list_multipart(call.bucket, prefix)
        if key_marker:
            uploads = [u for u in uploads if _after(u, key_marker, id_marker)]
        page = uploads[:max_uploads]
        truncated = len(uploads) > max_uploads
        return Response(
            xml.list_uploads(
                call.bucket, prefix, key_marker, id_marker, max_uploads, page, truncated
            ),
            media_type=XML,
        )

    async def _list_objects(self, call: Call) -> Response:
        store = self.parts.store
        query = call.query
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        max_keys = _listing_limits(prefix, query, "max-keys")
        encode = query.get("encoding-type") == "url"
        v2 = query.get("list-type") == "2"
        token = query.get("continuation-token")
        if v2:
            marker = _decode_token(token) if token else query.get("start-after", "")
        else:
            marker = query.get("marker", "")
        page = await store.list_objects(
            call.bucket, prefix=prefix, delimiter=delimiter, marker=marker, max_keys=max_keys
        )
        next_token = None
        if v2 and page.is_truncated and page.next_marker:
            next_token = base64.urlsafe_b64encode(page.next_marker.encode()).decode()
        body = xml.list_objects(
            bucket=call.bucket,
            page=page,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            encode=encode,
            v2=v2,
            marker=marker,
            continuation_token=token,
            next_token=next_token,
            start_after=query.get("start-after"),
        )
        return Response(body, media_type=XML)

    async def _delete_objects(self, call: Call) -> Response:
        store = self.parts.store
        keys, quiet = xml.parse_delete(await _small_body(call.request))
        deleted, failed = [], []
        for key in keys:
            try:
                check_key(key)
                await store.delete(call.bucket, key)
                deleted.append(key)
            except (InvalidPath, StorageError) as exc:
                failed.append((key, getattr(exc, "code", "InvalidArgument"), str(exc)))
        return Response(xml.delete_result(deleted, failed, quiet), media_type=XML)

    # -- objects -------------------------------------------------------------------------
    async def _object(self, call: Call) -> Response:
        await self._check_access(call.bucket, call.account)
        method, query = call.request.method, call.query
        if method == "PUT" and "uploadId" in query:
            if _copy_source(call.headers):
                return await self._upload_part_copy(call)
            return await self._upload_part(call)
        if method == "PUT":
            if _copy_source(call.headers):
                return await self._copy(call)
            return await self._put(call)
        if method in ("GET", "HEAD") and "uploadId" in query:
            return await self._list_parts(call)
        if method in ("GET", "HEAD"):
            return await self._get(call, head=method == "HEAD")
        if method == "DELETE" and "uploadId" in query:
            store = self.parts.store
            await store.abort_multipart(call.bucket, call.key, query["uploadId"])
            return Response(status_code=204)
        if method == "DELETE":
            store = self.parts.store
            await store.delete(call.bucket, call.key)
            return Response(status_code=204)
        if method == "POST" and "uploads" in query:
            store = self.parts.store
            upload_id = await store.create_multipart(
                call.bucket,
                call.key,
                content_type=call.headers.get("content-type"),
                metadata=_metadata(call.headers),
            )
            return Response(
                xml.initiate_multipart(call.bucket, call.key, upload_id), media_type=XML
            )
        if method == "POST" and "uploadId" in query:
            return await self._complete(call)
        raise S3Error("MethodNotAllowed", f"{method} is not allowed on an object")

    async def _readable_source(self, call: Call) -> tuple[str, str]:
        """The bucket and key named by the copy-source header, once the caller may read it."""
        source = _copy_source(call.headers) or ""
        source_path = unquote(source.split("?", 1)[0]).lstrip("/")
        source_bucket, _, source_key = source_path.partition("/")
        try:
            check_bucket(source_bucket)
            check_key(source_key)
        except InvalidPath as exc:
            raise S3Error("InvalidArgument", f"x-amz-copy-source: {exc}") from None
        await self._check_access(source_bucket, call.account)
        return source_bucket, source_key

    async def _upload_part_copy(self, call: Call) -> Response:
        store = self.parts.store
        number = _part_number(call.query)
        source_bucket, source_key = await self._readable_source(call)
        info = await store.stat(source_bucket, source_key)
        wanted = call.headers.get("x-amz-copy-source-range") or call.headers.get(
            "x-obs-copy-source-range"
        )
        byte_range = _parse_range(wanted, info.size) if wanted else None
        length = byte_range.length if byte_range else info.size
        part = await store.upload_part(
            call.bucket,
            call.key,
            call.query["uploadId"],
            number,
            store.read(source_bucket, source_key, byte_range),
            length=length,
        )
        return Response(xml.copy_part_result(part), media_type=XML)

    def _body(self, call: Call) -> AsyncIterator[bytes]:
        if call.payload_hash.startswith(bodies.SIGNED_STREAMING):
            # Its per-chunk signatures are not checked here, so it is refused rather than
            # accepted unverified.
            raise S3Error(
                "NotImplemented",
                "signed aws-chunked uploads are not supported; send the body whole or with "
                "UNSIGNED-PAYLOAD",
            )
        chunks: AsyncIterator[bytes] = call.request.stream()
        encoding = call.headers.get("content-encoding", "")
        if call.payload_hash.startswith(bodies.STREAMING) or "aws-chunked" in encoding:
            chunks = bodies.aws_chunked(chunks)
        chunks = bodies.rechunk(chunks, BODY_BLOCK)
        digest = call.payload_hash if len(call.payload_hash) == 64 else None
        md5 = call.headers.get("content-md5")
        if digest or md5:
            chunks = bodies.checked(chunks, sha256_hex=digest, md5_b64=md5)
        return chunks

    async def _put(self, call: Call) -> Response:
        store = self.parts.store
        content_type = call.headers.get("content-type")
        info = await store.write(
            call.bucket,
            call.key,
            self._body(call),
            content_type=content_type,
            metadata=_metadata(call.headers),
        )
        memory.after_large_body(info.size)
        return Response(headers={"ETag": f'"{info.etag}"'})

    async def _copy(self, call: Call) -> Response:
        store = self.parts.store
        source_bucket, source_key = await self._readable_source(call)
        directive = (
            call.headers.get("x-amz-metadata-directive")
            or call.headers.get("x-obs-metadata-directive")
            or "COPY"
        ).upper()
        source_info = await store.stat(source_bucket, source_key)
        if directive == "REPLACE":
            content_type = call.headers.get("content-type") or source_info.content_type
            metadata = _metadata(call.headers)
        else:
            content_type, metadata = source_info.content_type, source_info.metadata
        info = await store.write(
            call.bucket,
            call.key,
            store.read(source_bucket, source_key),
            content_type=content_type,
            metadata=metadata,
        )
        return Response(xml.copy_result(info), media_type=XML)

    async def _get(self, call: Call, *, head: bool) -> Response:
        store = self.parts.store
        if head:
            info, handle = await store.stat(call.bucket, call.key), None
        else:
            info, handle = await store.open_described(call.bucket, call.key)
        try:
            return self._object_answer(call, info, handle, head=head)
        except BaseException:
            if handle is not None:
                handle.close()
            raise

    def _object_answer(
        self, call: Call, info: ObjectInfo, handle: BinaryIO | None, *, head: bool
    ) -> Response:
        store = self.parts.store
        headers = {
            "ETag": f'"{info.etag}"',
            "Last-Modified": xml.http_time(info.last_modified_ms),
            "Accept-Ranges": "bytes",
        }
        for name, value in info.metadata.items():
            headers[f"x-amz-meta-{name}"] = value
        byte_range = _parse_range(call.headers.get("range"), info.size)
        status = 200
        length = info.size
        if byte_range is not None:
            status = 206
            length = byte_range.length
            headers["Content-Range"] = f"bytes {byte_range.first}-{byte_range.last}/{info.size}"
        headers["Content-Length"] = str(length)
        # Set as a header, not media_type, so the stored value comes back unchanged.
        headers["Content-Type"] = call.query.get("response-content-type") or info.content_type
        if head:
            return Response(status_code=status, headers=headers)
        if handle is not None:
            # The very file described above, sent by the kernel where the server can.
            first = byte_range.first if byte_range is not None else 0
            return FileSliceResponse(handle, first, length, status_code=status, headers=headers)
        # Always bounded by the announced length: if the object is replaced mid-request,
        # the answer ends short (and the client sees it) rather than running long.
        bounded = byte_range or (ByteRange(0, info.size - 1) if info.size else None)
        return StreamingResponse(
            store.read(call.bucket, call.key, bounded), status_code=status, headers=headers
        )

    async def _upload_part(self, call: Call) -> Response:
        store = self.parts.store
        number = _part_number(call.query)
        part = await store.upload_part(
            call.bucket,
            call.key,
            call.query["uploadId"],
            number,
            self._body(call),
            length=_body_length(call.headers),
        )
        memory.after_large_body(part.size)
        return Response(headers={"ETag": f'"{part.etag}"'})

    async def _list_parts(self, call: Call) -> Response:
        store = self.parts.store
        upload_id = call.query["uploadId"]
        parts = await store.list_parts(call.bucket, call.key, upload_id)
        return Response(xml.list_parts(call.bucket, call.key, upload_id, parts), media_type=XML)

    async def _complete(self, call: Call) -> Response:
        store = self.parts.store
        parts = xml.parse_complete(await _small_body(call.request))
        info = await store.complete_multipart(call.bucket, call.key, call.query["uploadId"], parts)
        location = f"{call.request.base_url}{call.bucket}/{call.key}"
        return Response(
            xml.complete_multipart(location, call.bucket, call.key, info.etag), media_type=XML
        )


def _listing_limits(prefix: str, query: dict[str, str], name: str) -> int:
    """Check a listing's prefix; its page size (``name``: at most 1000, never negative)."""
    try:
        check_prefix(prefix)
        limit = min(int(query.get(name, "1000")), 1000)
    except (InvalidPath, ValueError) as exc:
        raise S3Error("InvalidArgument", str(exc)) from None
    if limit < 0:
        raise S3Error("InvalidArgument", f"{name} cannot be negative")
    return limit


def _after(upload: UploadInfo, key_marker: str, id_marker: str) -> bool:
    """Whether an upload comes after the markers of the page before (S3's order: by key,
    then by upload ID within the marker's key)."""
    if upload.key != key_marker:
        return upload.key > key_marker
    return bool(id_marker) and upload.upload_id > id_marker


# Ordinary request parameters (not sub-resources) the handlers read or may safely ignore.
_PARAMETERS = {
    "prefix",
    "delimiter",
    "max-keys",
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "marker",
    "encoding-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "response-content-type",
    "response-content-disposition",
    "response-cache-control",
    "response-content-encoding",
    "response-content-language",
    "response-expires",
    "max-parts",
    "part-number-marker",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "AccessKeyId",
    "Expires",
    "Signature",
}


MAX_XML_BODY = 2 * 1024 * 1024


async def _small_body(request: Request) -> bytes:
    """An XML request body (bucket configuration, part list, keys to delete), capped."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_XML_BODY:
            raise S3Error("MalformedXML", f"the XML body is larger than {MAX_XML_BODY} bytes")
    return bytes(body)


def _query_pairs(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for item in raw.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _metadata(headers: dict[str, str]) -> dict[str, str]:
    return {
        name[len(prefix) :]: value
        for name, value in headers.items()
        for prefix in META_PREFIXES
        if name.startswith(prefix)
    }


def _body_length(headers: dict[str, str]) -> int | None:
    """The length of the decoded body, when the request says it."""
    declared = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
    return int(declared) if declared and declared.isascii() and declared.isdigit() else None


def _copy_source(headers: dict[str, str]) -> str | None:
    return headers.get("x-amz-copy-source") or headers.get("x-obs-copy-source")


def _part_number(query: dict[str, str]) -> int:
    try:
        return int(query.get("partNumber", "").strip() or "x")
    except ValueError:
        raise S3Error("InvalidArgument", "partNumber must be a number") from None


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from None


def _parse_range(header: str | None, size: int) -> ByteRange | None:
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None  # S3 ignores ranges it does not support and sends the whole object
    first_text, _, last_text = spec.strip().partition("-")
    try:
        if not first_text:
            suffix = int(last_text)
            if suffix <= 0:
                raise ValueError
            first, last = max(size - suffix, 0), size - 1
        else:
            first = int(first_text)
            last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size or first > last:
        raise S3Error("InvalidRange", "The requested range is not satisfiable")
    return ByteRange(first, min(last, size - 1))
