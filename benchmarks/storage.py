"""Object storage throughput: the embedded S3 endpoint beside a plain file copy and moto.

Uploads and downloads one large object (default 512 MB) with boto3 through the embedded
endpoint and through moto's S3 server, and copies the same file on the same disk, all in
one run. Prints MB/s, the ratios, and the server's resident memory before and at its peak
during the transfers (it should stay flat: bodies stream).

    python benchmarks/storage.py [--mb 512]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from boto3.s3.transfer import TransferConfig

from openarts.storage.s3 import s3_client
from openarts.testing.moto import MotoServer
from openarts.testing.server import ServerProcess

MB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB)


class PeakMemory:
    """Samples a process's RSS every 50 ms on a thread; remembers the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start_rss = self.process.memory_info().rss
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def durable_copy(source: Path, target: Path) -> None:
    """A copy that is on disk when it returns, as a stored object must be."""
    shutil.copyfile(source, target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())


def through_s3(s3: Any, source: Path, scratch: Path, size_mb: int) -> tuple[float, float]:
    s3.create_bucket(Bucket="bench")
    up = timed(lambda: s3.upload_file(str(source), "bench", "big.bin", Config=TRANSFER))
    target = scratch / "download.bin"
    down = timed(lambda: s3.download_file("bench", "big.bin", str(target), Config=TRANSFER))
    if target.stat().st_size != source.stat().st_size:
        raise RuntimeError("the download is not the size of the upload")
    target.unlink()
    return size_mb / up, size_mb / down


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        source = scratch / "source.bin"
        block = os.urandom(MB)
        with source.open("wb") as handle:
            for _ in range(args.mb):
                handle.write(block)

        copy_s = timed(lambda: shutil.copyfile(source, scratch / "copy.bin"))
        (scratch / "copy.bin").unlink()
        plain = args.mb / copy_s
        durable = args.mb / timed(lambda: durable_copy(source, scratch / "copy.bin"))
        (scratch / "copy.bin").unlink()

        server = ServerProcess(scratch / "home", env={"OPENARTS_LOG_LEVEL": "warning"}).start()
        try:
            row = server.credentials()
            s3 = s3_client(server.obs_endpoint, row["Access Key Id"], row["Secret Access Key"])
            assert server.process is not None
            with PeakMemory(server.process.pid) as memory:
                ours_up, ours_down = through_s3(s3, source, scratch, args.mb)
        finally:
            server.stop()

        moto = MotoServer().start()
        try:
            theirs_up, theirs_down = through_s3(
                s3_client(moto.endpoint, "moto", "moto"), source, scratch, args.mb
            )
        finally:
            moto.stop()

    print(f"object of {args.mb} MB; boto3, 8 MB parts\n")
    print(f"{'path':40} {'upload MB/s':>12} {'download MB/s':>14}")
    print(f"{'plain file copy (same disk)':40} {plain:12.0f} {plain:14.0f}")
    print(f"{'plain file copy + fsync (durable)':40} {durable:12.0f} {durable:14.0f}")
    print(f"{'OpenArts embedded endpoint':40} {ours_up:12.0f} {ours_down:14.0f}")
    print(f"{'moto S3 server':40} {theirs_up:12.0f} {theirs_down:14.0f}")
    print(
        f"\nOpenArts / plain copy: upload {ours_up / plain:.0%}, download "
        f"{ours_down / plain:.0%} (aim: at least 50%)"
    )
    print(
        f"OpenArts / moto: upload {ours_up / theirs_up:.1f}x, download "
        f"{ours_down / theirs_down:.1f}x"
    )
    grown = (memory.peak - memory.start_rss) / MB
    print(
        f"server memory: {memory.start_rss / MB:.0f} MB before, peak {memory.peak / MB:.0f} MB "
        f"during the transfers (+{grown:.0f} MB for a {args.mb} MB object)"
    )


if __name__ == "__main__":
    main()
