"""Object storage throughput: the embedded S3 endpoint beside plain file tools and moto.

One large object (default 1 GiB), in interleaved rounds so that the disk's moods fall on
every path alike; medians are printed. The anchors, measured in the same run on the same
file and disk: ``cp``, ``cp`` then ``fsync`` (a stored object is on disk when the upload
is answered), ``md5sum`` (an upload must compute the object's MD5 for its ETag). OpenArts
is measured through boto3 (8 MiB parts, its default ten threads, signed payloads, which
the endpoint checks with SHA-256) and through curl on presigned URLs (one stream, so the
client costs little and what is left is the server's), with the server's CPU per MiB and
its resident memory before, at its peak during the transfers and a few seconds after.
moto's S3 server through boto3 is the emulators' figure, and boto3 against the least an
S3 server can do (``ClientCeiling``: sendfile out, MD5 + write + fsync in, nothing
checked) shows what the client itself reaches on this machine.

    python benchmarks/storage.py [--mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from boto3.s3.transfer import TransferConfig

from openarts.storage.s3 import s3_client
from openarts.testing.bench_summary import summary
from openarts.testing.moto import MotoServer
from openarts.testing.server import ServerProcess

MB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB)


class PeakMemory:
    """Samples a process's RSS every 20 ms on a thread; remembers the peak."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class Figures:
    """MiB/s per path over rounds, and the server's CPU milliseconds per MiB."""

    def __init__(self, size_mb: int) -> None:
        self.size_mb = size_mb
        self.rates: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(
        self, name: str, work: Callable[[], Any], server: psutil.Process | None = None
    ) -> None:
        cpu_before = _cpu(server) if server else 0.0
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        self.rates.setdefault(name, []).append(self.size_mb / seconds)
        if server:
            self.cpu.setdefault(name, []).append((_cpu(server) - cpu_before) * 1000 / self.size_mb)

    def rate(self, name: str) -> float:
        return statistics.median(self.rates[name])

    def cpu_ms(self, name: str) -> str:
        return f"{statistics.median(self.cpu[name]):.2f}" if name in self.cpu else "-"


class ClientCeiling(http.server.BaseHTTPRequestHandler):
    """The least an S3 server can do, to show what boto3 itself reaches on this machine:
    GET sends the file with ``sendfile`` (ranges too), PUT hashes with MD5, writes and
    syncs; no signature, no bucket, no checks. Not a store: an instrument."""

    protocol_version = "HTTP/1.1"
    source: Path
    sink: Path

    def log_message(self, *_: Any) -> None:
        pass

    def _head(self, status: int, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(length), "ETag": '"x"', **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()

    def do_HEAD(self) -> None:
        self._head(
            200, self.source.stat().st_size, {"Last-Modified": "Mon, 07 Dec 2026 00:00:00 GMT"}
        )

    def do_GET(self) -> None:
        size = self.source.stat().st_size
        first, last, status, extra = 0, size - 1, 200, {}
        asked = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if asked:
            first, last = int(asked[1]), int(asked[2]) if asked[2] else size - 1
            status, extra = 206, {"Content-Range": f"bytes {first}-{last}/{size}"}
        self._head(status, last - first + 1, extra)
        with self.source.open("rb") as handle:
            self.connection.sendfile(handle, first, last - first + 1)

    def do_PUT(self) -> None:
        left, digest = int(self.headers["Content-Length"]), hashlib.md5()
        block = memoryview(bytearray(MB))
        fd = os.open(self.sink, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while left:
                got = self.rfile.readinto(block[: min(MB, left)])
                digest.update(block[:got])
                os.write(fd, block[:got])
                left -= got
            os.fsync(fd)
        finally:
            os.close(fd)
        self._head(200, 0, {"ETag": f'"{digest.hexdigest()}"'})

    def do_POST(self) -> None:  # starts and completes a multipart upload
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if "uploads" in self.path:
            body = b"<InitiateMultipartUploadResult><UploadId>u</UploadId>"
            body += b"</InitiateMultipartUploadResult>"
        else:
            body = b"<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"
        self._head(200, len(body))
        self.wfile.write(body)


def up_and_down(
    figures: Figures,
    name: str,
    s3: Any,
    scratch: Path,
    source: Path,
    server: psutil.Process | None = None,
) -> None:
    """The object up and back with boto3, timed as ``<name> upload`` and ``download``."""
    target = scratch / "down.bin"
    figures.time(
        f"{name} upload",
        lambda: s3.upload_file(str(source), "bench", "big.bin", Config=TRANSFER),
        server,
    )
    figures.time(
        f"{name} download",
        lambda: s3.download_file("bench", "big.bin", str(target), Config=TRANSFER),
        server,
    )
    _same_size(target, source)
    target.unlink()


def ceiling_round(figures: Figures, scratch: Path, source: Path) -> None:
    ClientCeiling.source, ClientCeiling.sink = source, scratch / "ceiling-sink.bin"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ClientCeiling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s3 = s3_client(f"http://127.0.0.1:{server.server_address[1]}", "any", "any")
        up_and_down(figures, "boto3 ceiling", s3, scratch, source)
        ClientCeiling.sink.unlink(missing_ok=True)
    finally:
        server.shutdown()
        server.server_close()


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def durable_copy(source: Path, target: Path) -> None:
    """A copy that is on disk when it returns, as a stored object must be."""
    shutil.copyfile(source, target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())


def curl(*arguments: str) -> None:
    subprocess.run(["curl", "--fail", "-sS", *arguments], check=True)


def one_round(
    figures: Figures, scratch: Path, source: Path, s3: Any, server: psutil.Process
) -> None:
    target = scratch / "target.bin"

    def fresh() -> None:
        target.unlink(missing_ok=True)

    figures.time("cp", lambda: shutil.copyfile(source, target))
    fresh()
    figures.time("cp + fsync", lambda: durable_copy(source, target))
    fresh()
    figures.time(
        "md5sum", lambda: subprocess.run(["md5sum", str(source)], check=True, capture_output=True)
    )

    up_and_down(figures, "boto3", s3, scratch, source, server)
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "curl.bin"})
    figures.time("curl upload", lambda: curl("-o", "/dev/null", "-T", str(source), put), server)
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "curl.bin"})
    figures.time("curl download", lambda: curl("-o", str(target), get), server)
    _same_size(target, source)
    fresh()


def _same_size(target: Path, source: Path) -> None:
    if target.stat().st_size != source.stat().st_size:
        raise RuntimeError(f"{target.name} is not the size of the upload")


def moto_round(figures: Figures, scratch: Path, source: Path) -> None:
    moto = MotoServer().start()
    try:
        s3 = s3_client(moto.endpoint, "moto", "moto")
        s3.create_bucket(Bucket="bench")
        up_and_down(figures, "moto", s3, scratch, source)
    finally:
        moto.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = Figures(args.mb)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        source = scratch / "source.bin"
        block = os.urandom(MB)
        with source.open("wb") as handle:
            for _ in range(args.mb):
                handle.write(block)
            os.fsync(handle.fileno())

        server = ServerProcess(scratch / "home", env={"OPENARTS_LOG_LEVEL": "warning"}).start()
        try:
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            s3.create_bucket(Bucket="bench")
            assert server.process is not None
            process = psutil.Process(server.process.pid)
            before = process.memory_info().rss
            with PeakMemory(process) as memory:
                for _ in range(args.rounds):
                    one_round(figures, scratch, source, s3, process)
                    ceiling_round(figures, scratch, source)
            time.sleep(3)  # what the server keeps once the transfers are over
            after = process.memory_info().rss
        finally:
            server.stop()
        moto_round(figures, scratch, source)

    print(f"object of {args.mb} MiB; median of {args.rounds} interleaved rounds (moto: one)\n")
    print(f"{'path':28} {'MiB/s':>8} {'server CPU ms/MiB':>18}")
    for name in figures.rates:
        print(f"{name:28} {figures.rate(name):8.0f} {figures.cpu_ms(name):>18}")
    cp, durable, md5 = figures.rate("cp"), figures.rate("cp + fsync"), figures.rate("md5sum")
    print()
    for client in ("boto3", "curl"):
        up, down = figures.rate(f"{client} upload"), figures.rate(f"{client} download")
        print(
            f"{client:5}: download {down / cp:.2f}x cp (aim 0.5); upload {up / durable:.2f}x "
            f"cp + fsync (aim 0.5), {up / md5:.2f}x md5sum (aim 0.8)"
        )
    boto_up, boto_down = figures.rate("boto3 upload"), figures.rate("boto3 download")
    print(
        f"boto3 against its ceiling (a minimal sendfile/MD5 server, no checks): upload "
        f"{boto_up / figures.rate('boto3 ceiling upload'):.2f}x, download "
        f"{boto_down / figures.rate('boto3 ceiling download'):.2f}x"
    )
    print(
        f"boto3 against moto: upload {boto_up / figures.rate('moto upload'):.1f}x, "
        f"download {boto_down / figures.rate('moto download'):.1f}x"
    )
    peak_grown, kept = (memory.peak - before) / MB, (after - before) / MB
    print(
        f"server memory: {before / MB:.0f} MiB before, peak +{peak_grown:.0f} MiB during the "
        f"transfers, +{kept:.0f} MiB three seconds after (aim: at most +20 MiB)"
    )
    curl_down, curl_up = figures.rate("curl download"), figures.rate("curl upload")
    summary(
        "storage download, curl (MiB/s)",
        f"{curl_down:.0f}",
        f"cp {cp:.0f}",
        curl_down / cp,
        ">= 0.5x",
    )
    summary(
        "storage download, boto3 (MiB/s)",
        f"{boto_down:.0f}",
        f"cp {cp:.0f}",
        boto_down / cp,
        ">= 0.5x",
    )
    summary(
        "storage upload, curl (MiB/s)",
        f"{curl_up:.0f}",
        f"md5sum {md5:.0f}",
        curl_up / md5,
        ">= 0.8x",
    )
    summary(
        "storage upload, boto3 (MiB/s)",
        f"{boto_up:.0f}",
        f"md5sum {md5:.0f}",
        boto_up / md5,
        ">= 0.8x",
    )
    summary(
        "storage upload, curl vs cp+fsync",
        f"{curl_up:.0f}",
        f"{durable:.0f}",
        curl_up / durable,
        ">= 0.5x",
    )
    summary("storage server memory peak (MiB)", f"+{peak_grown:.0f}", "-", None, "<= +20")


if __name__ == "__main__":
    main()
