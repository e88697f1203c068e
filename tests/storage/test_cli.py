"""`openarts obs` against a running server, with the keys from credentials.csv."""

from __future__ import annotations

from pathlib import Path

import pytest

from openarts.testing.server import ServerProcess

pytestmark = pytest.mark.e2e


def obs(server: ServerProcess, *args: str, ok: bool = True) -> str:
    """What the command printed: standard output, or standard error when it failed."""
    done = server.cli("obs", *args)
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout if ok else done.stderr


def test_mb_cp_ls_rm(obs_server: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "data"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.bin").write_bytes(b"\x00" * (9 * 1024 * 1024))
    obs(obs_server, "mb", "obs://cli-bucket")
    assert "copied 2 files" in obs(obs_server, "cp", "-r", str(source), "obs://cli-bucket/in/")
    listing = obs(obs_server, "ls", "obs://cli-bucket/in/")
    assert "obs://cli-bucket/in/a.txt" in listing and "obs://cli-bucket/in/sub/" in listing
    assert "obs://cli-bucket/in/sub/b.bin" in obs(obs_server, "ls", "-r", "obs://cli-bucket")
    # A key is printed as it is, brackets and all (no terminal markup).
    odd = "obs://cli-bucket/runs/[train]/[/data]"
    assert odd in obs(obs_server, "cp", str(source / "a.txt"), odd)
    assert odd in obs(obs_server, "ls", "-r", "obs://cli-bucket/runs/")
    obs(obs_server, "rm", odd)
    assert "obs://cli-bucket" in obs(obs_server, "ls")

    back = tmp_path / "back"
    obs(obs_server, "cp", "-r", "obs://cli-bucket/in/", str(back))
    assert (back / "a.txt").read_text() == "alpha"
    assert (back / "sub" / "b.bin").stat().st_size == 9 * 1024 * 1024
    obs(obs_server, "cp", "obs://cli-bucket/in/a.txt", str(tmp_path / "single.txt"))
    assert (tmp_path / "single.txt").read_text() == "alpha"
    obs(obs_server, "cp", "obs://cli-bucket/in/a.txt", "obs://cli-bucket/copies/")
    assert "copies/a.txt" in obs(obs_server, "ls", "-r", "obs://cli-bucket/copies/")

    failed = obs(obs_server, "rm", "obs://cli-bucket", ok=False)
    assert "BucketNotEmpty" in failed
    obs(obs_server, "rm", "obs://cli-bucket/copies/a.txt")
    assert "removed 2 objects" in obs(obs_server, "rm", "-r", "obs://cli-bucket/in/")
    obs(obs_server, "rm", "obs://cli-bucket")
    assert "obs://cli-bucket" not in obs(obs_server, "ls")


def test_bad_paths_and_folders_without_r(obs_server: ServerProcess, tmp_path: Path) -> None:
    assert "not an object path" in obs(obs_server, "ls", "cli-bucket/x", ok=False)
    assert "add -r" in obs(obs_server, "cp", str(tmp_path), "obs://x-bucket/", ok=False)
    assert "NoSuchBucket" in obs(obs_server, "ls", "obs://no-such-bucket", ok=False)
    missing = tmp_path / "missing.txt"
    assert str(missing) in obs(obs_server, "cp", str(missing), "obs://x-bucket/m", ok=False)
    # The secret key is never taken from the command line.
    done = obs_server.cli("obs", "ls", "--sk", "secret")
    assert done.returncode == 2 and "No such option" in done.stderr
