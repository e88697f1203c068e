"""The CLI's pure parts: which profile field wins, how flags go over a body file, and
which part of a log preview is new."""

from __future__ import annotations

from pathlib import Path

import pytest

from openarts.cli.common import merge
from openarts.cli.jobs import _new_part
from openarts.cli.output import Printer
from openarts.cli.profiles import Profile, ProfileError, resolve, save_profile
from openarts.settings import Settings


def test_flags_win_over_the_file_and_unset_flags_leave_it_alone() -> None:
    base = {"metadata": {"name": "from-file", "description": "kept"}, "spec": {"n": 1}}
    flags = {"metadata": {"name": "flag", "description": None}, "spec": {"pool": None}}
    assert merge(base, flags) == {
        "metadata": {"name": "flag", "description": "kept"},
        "spec": {"n": 1},
    }
    # Mappings made only of unset flags do not appear.
    assert merge({}, {"metadata": {"annotations": None}, "kind": "job"}) == {"kind": "job"}


@pytest.mark.parametrize(
    ("preview", "shown", "expected"),
    [
        ({"content": "a\nb\n", "full_size": 4}, 0, (b"a\nb\n", 0, 4)),
        ({"content": "a\nb\nc\n", "full_size": 6}, 4, (b"c\n", 0, 6)),
        ({"content": "a\nb\n", "full_size": 4}, 4, (b"", 0, 4)),
        # The preview holds only the tail: what fell out of it is counted, not lost silently.
        ({"content": "y\nz\n", "full_size": 100}, 10, (b"y\nz\n", 86, 100)),
        # A retry began a new, shorter log: it is printed from its start.
        ({"content": "new\n", "full_size": 4}, 50, (b"new\n", 0, 4)),
    ],
)
def test_new_part_of_a_log(
    preview: dict[str, object], shown: int, expected: tuple[bytes, int, int]
) -> None:
    assert _new_part(preview, shown) == expected


def test_profile_fields_come_from_flags_then_environment_then_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("OPENARTS_CONFIG", str(config))
    for name in ("OPENARTS_ENDPOINT", "OPENARTS_AK", "OPENARTS_SK", "OPENARTS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    save_profile(
        config,
        "work",
        Profile(endpoint="http://profile", access_key="AKP", secret_key="SKP", project_id="p1"),
    )
    settings = Settings(home=tmp_path / "home")
    chosen = resolve(settings, "work", {})
    assert (chosen.endpoint, chosen.access_key, chosen.project_id) == (
        "http://profile",
        "AKP",
        "p1",
    )
    monkeypatch.setenv("OPENARTS_ENDPOINT", "http://environment")
    assert resolve(settings, "work", {}).endpoint == "http://environment"
    assert resolve(settings, "work", {"endpoint": "http://flag"}).endpoint == "http://flag"
    with pytest.raises(ProfileError, match="no profile named 'other'"):
        resolve(settings, "other", {})


def test_saved_profiles_never_hold_a_password_and_are_private(tmp_path: Path) -> None:
    config = tmp_path / "openarts" / "config.yaml"
    save_profile(config, "me", Profile(endpoint="http://x", user="me", password="secret!"))
    assert "secret!" not in config.read_text()
    assert config.stat().st_mode & 0o777 == 0o600


def _local_server_home(home: Path, endpoint: str) -> None:
    home.mkdir(parents=True)
    (home / "credentials.csv").write_text(
        "User Name,Access Key Id,Secret Access Key,Project Id,Project Name,Endpoint,"
        f"OBS Endpoint\nadmin,AKLOCAL,SKLOCAL,p-local,default,{endpoint},http://x:8081\n"
    )


def test_local_admin_keys_serve_the_local_server_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENARTS_CONFIG", str(tmp_path / "none.yaml"))
    for name in ("OPENARTS_ENDPOINT", "OPENARTS_AK", "OPENARTS_SK", "OPENARTS_USER"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(home=tmp_path / "home")
    _local_server_home(settings.home, "http://127.0.0.1:8080")
    assert resolve(settings, None, {}).access_key == "AKLOCAL"
    assert resolve(settings, None, {"endpoint": "http://127.0.0.1:8080/"}).secret_key == "SKLOCAL"
    remote = resolve(settings, None, {"endpoint": "https://remote.example.com"})
    assert (remote.access_key, remote.secret_key, remote.project_id) == ("", "", "")
    # Someone else's identity is not sent to the local server by default either.
    monkeypatch.setenv("OPENARTS_USER", "rita")
    assert resolve(settings, None, {}).endpoint == ""


def test_an_existing_config_file_is_replaced_private(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("profiles: {}\n")
    config.chmod(0o644)
    save_profile(config, "me", Profile(endpoint="http://x", access_key="A", secret_key="S"))
    assert config.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_server_text_is_printed_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    Printer().rows({"total": 3}, [{"name": "[/data/x] [bold]b"}], [("NAME", "name")])
    captured = capsys.readouterr()
    assert "[/data/x] [bold]b" in captured.out
    assert "showing 1 of 3" in captured.err
