"""`openarts obs mb|ls|cp|rm`: object storage from the command line, over the S3 protocol.

Talks to the embedded endpoint (or any S3/OBS endpoint) with the keys in the home's
credentials.csv, or the ones given as options.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from openarts.cli.output import err, error_line
from openarts.settings import Settings
from openarts.storage.paths import InvalidPath, ObjectPath

obs_app = typer.Typer(
    help="Object storage: buckets and objects (obs://bucket/key).", no_args_is_help=True
)
# Keys are printed as they are and whole: a key holding "[/data]" is not rich markup, and
# a long one is not folded at 80 columns when piped to grep.
console = Console(highlight=False, markup=False, soft_wrap=True)
# Transfers smaller than this finish too fast to need a progress bar.
PROGRESS_BYTES = 8 * 1024 * 1024

EndpointOption = Annotated[
    str | None, typer.Option("--endpoint", envvar="OPENARTS_OBS_ENDPOINT", help="S3 endpoint URL.")
]
AkOption = Annotated[str | None, typer.Option("--ak", envvar="OPENARTS_OBS_AK", help="Access key.")]
RecursiveOption = Annotated[bool, typer.Option("--recursive", "-r", help="Whole prefixes.")]


def _client(ctx: typer.Context, endpoint: str | None, ak: str | None) -> Any:
    """The secret key comes from OPENARTS_OBS_SK or credentials.csv, never the command
    line, where any user of the machine could read it."""
    # boto3 is loaded only by the commands that use it: every `openarts` command loads
    # this module.
    from openarts.storage.s3 import s3_client

    settings: Settings = ctx.obj
    sk = os.environ.get("OPENARTS_OBS_SK")
    if not (endpoint and ak and sk):
        path = settings.credentials_file
        if not path.is_file():
            raise _fail(
                f"no credentials: give --endpoint, --ak and OPENARTS_OBS_SK, or start the server "
                f"once so that {path} exists"
            )
        with path.open(encoding="utf-8") as handle:
            row = next(csv.DictReader(handle))
        endpoint = endpoint or row.get("OBS Endpoint") or settings.obs_endpoint
        ak, sk = ak or row["Access Key Id"], sk or row["Secret Access Key"]
    return s3_client(endpoint, ak, sk)


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


def _run(action: Any) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        action()
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
    console.print(f"made obs://{path.bucket}")


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

    def show() -> None:
        if target is None:
            for bucket in client.list_buckets()["Buckets"]:
                console.print(f"{bucket['CreationDate']:%Y-%m-%d %H:%M}  obs://{bucket['Name']}")
            return
        path = _path(target)
        kwargs: dict[str, Any] = {"Bucket": path.bucket, "Prefix": path.key}
        if not recursive:
            kwargs["Delimiter"] = "/"
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            for common in page.get("CommonPrefixes", []):
                console.print(f"{'DIR':>12}  obs://{path.bucket}/{common['Prefix']}")
            for item in page.get("Contents", []):
                console.print(f"{item['Size']:>12}  obs://{path.bucket}/{item['Key']}")

    _run(show)


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
    _run(lambda: _copy(client, source, target, recursive))


def _copy(client: Any, source: str, target: str, recursive: bool) -> None:
    if not _is_remote(source):
        local = Path(source)
        destination = _path(target)
        if local.is_dir():
            if not recursive:
                raise _fail(f"{source} is a folder: add -r")
            base = destination.key if destination.is_prefix else destination.key + "/"
            files = sorted(p for p in local.rglob("*") if p.is_file())
            for file in files:
                _upload(client, file, destination.bucket, base + file.relative_to(local).as_posix())
            console.print(f"copied {len(files)} files to obs://{destination.bucket}/{base}")
            return
        key = destination.key + local.name if destination.is_prefix else destination.key
        _upload(client, local, destination.bucket, key)
        console.print(f"copied {source} to obs://{destination.bucket}/{key}")
        return
    origin = _path(source)
    if _is_remote(target):
        destination = _path(target)
        if recursive:
            prefix = origin.key if origin.is_prefix else origin.key + "/"
            base = destination.key if destination.is_prefix else destination.key + "/"
            items = _keys(client, origin.bucket, prefix)
            for item in items:
                client.copy(
                    {"Bucket": origin.bucket, "Key": item["Key"]},
                    destination.bucket,
                    base + item["Key"][len(prefix) :],
                )
            console.print(f"copied {len(items)} objects to obs://{destination.bucket}/{base}")
            return
        key = (
            destination.key + origin.key.rsplit("/", 1)[-1]
            if destination.is_prefix
            else destination.key
        )
        client.copy({"Bucket": origin.bucket, "Key": origin.key}, destination.bucket, key)
        console.print(f"copied {source} to obs://{destination.bucket}/{key}")
        return
    local = Path(target)
    if recursive:
        prefix = origin.key if origin.is_prefix or not origin.key else origin.key + "/"
        items = _keys(client, origin.bucket, prefix)
        for item in items:
            if item["Key"].endswith("/"):
                continue
            _download(
                client, origin.bucket, item["Key"], local / item["Key"][len(prefix) :], item["Size"]
            )
        console.print(f"copied {len(items)} objects to {local}")
        return
    head = client.head_object(Bucket=origin.bucket, Key=origin.key)
    file = local / origin.key.rsplit("/", 1)[-1] if local.is_dir() else local
    _download(client, origin.bucket, origin.key, file, head["ContentLength"])
    console.print(f"copied obs://{origin.bucket}/{origin.key} to {file}")


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

    def delete() -> None:
        if recursive:
            keys = [item["Key"] for item in _keys(client, path.bucket, path.key)]
            for start in range(0, len(keys), 1000):
                batch = [{"Key": key} for key in keys[start : start + 1000]]
                client.delete_objects(Bucket=path.bucket, Delete={"Objects": batch, "Quiet": True})
            console.print(f"removed {len(keys)} objects")
            if path.key:
                return
        if not path.key:
            client.delete_bucket(Bucket=path.bucket)
            console.print(f"removed obs://{path.bucket}")
            return
        client.delete_object(Bucket=path.bucket, Key=path.key)
        console.print(f"removed obs://{path.bucket}/{path.key}")

    _run(delete)
