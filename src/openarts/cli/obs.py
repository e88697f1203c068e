"""`openarts obs mb|ls|cp|rm`: object storage from the command line, over the S3 protocol.

Who to be and which server are found as for every other family (flags, OPENARTS_*
variables, the profile `openarts configure` saved, the local server's credentials.csv):
see profiles.py. The object storage endpoint is the profile's (configure --obs-endpoint),
else the API's host on the port after the API's. --endpoint, --ak and OPENARTS_OBS_SK
name another S3/OBS endpoint or keys for these commands alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from openarts.cli.common import FLAGS_KEY, printer, reported
from openarts.cli.output import err, error_line
from openarts.cli.profiles import object_storage, resolve
from openarts.settings import Settings
from openarts.storage.paths import InvalidPath, ObjectPath

obs_app = typer.Typer(
    help="Object storage: buckets and objects (obs://bucket/key).", no_args_is_help=True
)
# Keys are printed as they are and whole: a key holding "[/data]" is not rich markup, and
# a long one is not folded at 80 columns when piped to grep.
console = Console(highlight=False, markup=False, soft_wrap=True)
T = TypeVar("T")
# Transfers smaller than this finish too fast to need a progress bar.
PROGRESS_BYTES = 8 * 1024 * 1024

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="OPENARTS_OBS_ENDPOINT",
        help="S3 endpoint URL (default: the profile's object storage).",
    ),
]
AkOption = Annotated[
    str | None,
    typer.Option(
        "--ak",
        envvar="OPENARTS_OBS_AK",
        help="Access key (default: the profile's); its secret key in OPENARTS_OBS_SK.",
    ),
]
RecursiveOption = Annotated[bool, typer.Option("--recursive", "-r", help="Whole prefixes.")]


def _client(ctx: typer.Context, endpoint: str | None, ak: str | None) -> Any:
    """An S3 client for the endpoint and keys of this invocation. A secret key comes from
    OPENARTS_OBS_SK, OPENARTS_SK or the profile, never the command line, where any user
    of the machine could read it."""
    # boto3 is loaded only by the commands that use it: every `openarts` command loads
    # this module.
    from openarts.storage.s3 import s3_client

    settings: Settings = ctx.find_root().obj
    flags, profile_name = ctx.meta.get(FLAGS_KEY, ({}, None))
    with reported():
        profile = resolve(settings, profile_name, flags)
    given_sk = os.environ.get("OPENARTS_OBS_SK")
    access_key = ak or profile.access_key
    # A key given for these commands pairs with its own secret, not the profile's.
    secret_key = given_sk or (profile.secret_key if access_key == profile.access_key else "")
    if ak and not secret_key:
        raise _fail("--ak (OPENARTS_OBS_AK) needs its secret key in OPENARTS_OBS_SK")
    if not (access_key and secret_key) and profile.user:
        # S3 signs each request with a secret key: a sign-in's token does not serve.
        raise _fail(
            f"object storage needs an access key and its secret key, and this profile signs "
            f"in as user {profile.user}: run `openarts configure --ak …`, or set OPENARTS_AK "
            "and OPENARTS_SK"
        )
    if not (access_key and secret_key):
        raise _fail(
            "no credentials: run `openarts configure` (AK/SK), or set OPENARTS_AK and "
            "OPENARTS_SK (or give --ak with OPENARTS_OBS_SK)"
        )
    target = endpoint or object_storage(profile)
    if not target:
        raise _fail(
            "no endpoint: run `openarts configure`, or give --endpoint / OPENARTS_OBS_ENDPOINT "
            "(or the API's, OPENARTS_ENDPOINT)"
        )
    # Few retries: an endpoint that is not there is said in seconds, not after a minute.
    return s3_client(
        target, access_key, secret_key, retries={"mode": "standard", "max_attempts": 3}
    )


def _fail(message: str) -> typer.Exit:
    err.print(error_line(message))
    return typer.Exit(1)


def _path(text: str) -> ObjectPath:
    try:
        return ObjectPath.parse(text)
    except InvalidPath as exc:
        raise _fail(str(exc)) from None


def _is_remote(text: str) -> bool:
    return text.startswith(("obs://", "s3://"))


def _run(action: Callable[[], T]) -> T:
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        return action()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise _fail(f"{error.get('Code')}: {error.get('Message')}") from None
    except EndpointConnectionError as exc:
        raise _fail(f"cannot reach the endpoint: {exc}") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or 'local file'}: {exc.strerror or exc}") from None


def _keys(client: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects += page.get("Contents", [])
    return objects


def _with_progress(size: int, label: str, work: Any) -> None:
    if size < PROGRESS_BYTES:
        work(None)
        return
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=size)
        work(lambda sent: progress.advance(task, sent))


@obs_app.command("mb")
def make_bucket(
    ctx: typer.Context,
    bucket: str,
    project: Annotated[str | None, typer.Option(help="Project (name or ID) to own it.")] = None,
    endpoint: EndpointOption = None,
    ak: AkOption = None,
) -> None:
    """Make a bucket: openarts obs mb obs://name"""
    path = _path(bucket if _is_remote(bucket) else f"obs://{bucket}")
    client = _client(ctx, endpoint, ak)
    extra = {"CreateBucketConfiguration": {"LocationConstraint": project}} if project else {}
    _run(lambda: client.create_bucket(Bucket=path.bucket, **extra))
    printer(ctx).done(f"made obs://{path.bucket}", {"bucket": path.bucket})


@obs_app.command("ls")
def list_objects(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument()] = None,
    recursive: RecursiveOption = False,
    endpoint: EndpointOption = None,
    ak: AkOption = None,
) -> None:
    """List buckets, or the objects under obs://bucket/prefix."""
    client = _client(ctx, endpoint, ak)

    def buckets() -> None:
        found = client.list_buckets()["Buckets"]
        if printer(ctx).json:
            printer(ctx).dump(
                [{"bucket": b["Name"], "created": b["CreationDate"].isoformat()} for b in found]
            )
            return
        for bucket in found:
            console.print(f"{bucket['CreationDate']:%Y-%m-%d %H:%M}  obs://{bucket['Name']}")

    def objects(path: ObjectPath) -> None:
        kwargs: dict[str, Any] = {"Bucket": path.bucket, "Prefix": path.key}
        if not recursive:
            kwargs["Delimiter"] = "/"
        folders: list[str] = []
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            folders += [common["Prefix"] for common in page.get("CommonPrefixes", [])]
            items += page.get("Contents", [])
        if printer(ctx).json:
            printer(ctx).dump(
                {
                    "prefixes": [f"obs://{path.bucket}/{folder}" for folder in folders],
                    "objects": [
                        {"path": f"obs://{path.bucket}/{item['Key']}", "size": item["Size"]}
                        for item in items
                    ],
                }
            )
            return
        for folder in folders:
            console.print(f"{'DIR':>12}  obs://{path.bucket}/{folder}")
        for item in items:
            console.print(f"{item['Size']:>12}  obs://{path.bucket}/{item['Key']}")

    if target is None:
        _run(buckets)
    else:
        path = _path(target)
        _run(lambda: objects(path))


@obs_app.command("cp")
def copy(
    ctx: typer.Context,
    source: str,
    target: str,
    recursive: RecursiveOption = False,
    endpoint: EndpointOption = None,
    ak: AkOption = None,
) -> None:
    """Copy local→obs, obs→local or obs→obs; -r for folders and prefixes."""
    client = _client(ctx, endpoint, ak)
    if not _is_remote(source) and not _is_remote(target):
        raise _fail("one side must be obs://bucket/key")
    message, copied = _run(lambda: _copy(client, source, target, recursive))
    printer(ctx).done(message, {"copied": copied})


def _copy(client: Any, source: str, target: str, recursive: bool) -> tuple[str, list[str]]:
    """Copy; what to say, and where each copy went."""
    if not _is_remote(source):
        local = Path(source)
        destination = _path(target)
        if local.is_dir():
            if not recursive:
                raise _fail(f"{source} is a folder: add -r")
            base = destination.key if destination.is_prefix else destination.key + "/"
            files = sorted(p for p in local.rglob("*") if p.is_file())
            keys = [base + file.relative_to(local).as_posix() for file in files]
            for file, key in zip(files, keys, strict=True):
                _upload(client, file, destination.bucket, key)
            copied = [f"obs://{destination.bucket}/{key}" for key in keys]
            return f"copied {len(files)} files to obs://{destination.bucket}/{base}", copied
        key = destination.key + local.name if destination.is_prefix else destination.key
        _upload(client, local, destination.bucket, key)
        return f"copied {source} to obs://{destination.bucket}/{key}", [
            f"obs://{destination.bucket}/{key}"
        ]
    origin = _path(source)
    if _is_remote(target):
        destination = _path(target)
        if recursive:
            prefix = origin.key if origin.is_prefix else origin.key + "/"
            base = destination.key if destination.is_prefix else destination.key + "/"
            copied = []
            for item in _keys(client, origin.bucket, prefix):
                key = base + item["Key"][len(prefix) :]
                client.copy({"Bucket": origin.bucket, "Key": item["Key"]}, destination.bucket, key)
                copied.append(f"obs://{destination.bucket}/{key}")
            return f"copied {len(copied)} objects to obs://{destination.bucket}/{base}", copied
        key = (
            destination.key + origin.key.rsplit("/", 1)[-1]
            if destination.is_prefix
            else destination.key
        )
        client.copy({"Bucket": origin.bucket, "Key": origin.key}, destination.bucket, key)
        return f"copied {source} to obs://{destination.bucket}/{key}", [
            f"obs://{destination.bucket}/{key}"
        ]
    local = Path(target)
    if recursive:
        prefix = origin.key if origin.is_prefix or not origin.key else origin.key + "/"
        items = _keys(client, origin.bucket, prefix)
        copied = []
        for item in items:
            if item["Key"].endswith("/"):
                continue
            file = local / item["Key"][len(prefix) :]
            _download(client, origin.bucket, item["Key"], file, item["Size"])
            copied.append(str(file))
        return f"copied {len(items)} objects to {local}", copied
    head = client.head_object(Bucket=origin.bucket, Key=origin.key)
    file = local / origin.key.rsplit("/", 1)[-1] if local.is_dir() else local
    _download(client, origin.bucket, origin.key, file, head["ContentLength"])
    return f"copied obs://{origin.bucket}/{origin.key} to {file}", [str(file)]


def _upload(client: Any, file: Path, bucket: str, key: str) -> None:
    size = file.stat().st_size
    _with_progress(
        size,
        file.name,
        lambda callback: client.upload_file(str(file), bucket, key, Callback=callback),
    )


def _download(client: Any, bucket: str, key: str, file: Path, size: int) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    _with_progress(
        size,
        key.rsplit("/", 1)[-1],
        lambda callback: client.download_file(bucket, key, str(file), Callback=callback),
    )


@obs_app.command("rm")
def remove(
    ctx: typer.Context,
    target: str,
    recursive: RecursiveOption = False,
    endpoint: EndpointOption = None,
    ak: AkOption = None,
) -> None:
    """Remove an object; -r for a prefix; obs://bucket alone removes the (empty) bucket."""
    client = _client(ctx, endpoint, ak)
    path = _path(target)

    def delete() -> list[str]:
        said: list[str] = []
        if recursive:
            keys = [item["Key"] for item in _keys(client, path.bucket, path.key)]
            for start in range(0, len(keys), 1000):
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                client.delete_objects(Bucket=path.bucket, Delete={"Objects": batch, "Quiet": True})
            said.append(f"removed {len(keys)} objects")
            if path.key:
                return said
        if not path.key:
            client.delete_bucket(Bucket=path.bucket)
            return [*said, f"removed obs://{path.bucket}"]
        client.delete_object(Bucket=path.bucket, Key=path.key)
        return [f"removed obs://{path.bucket}/{path.key}"]

    said = _run(delete)
    printer(ctx).done("\n".join(said), {"removed": target, "said": said})
