"""The CLI's pure parts: which profile field wins, how flags go over a body file, and
which part of a log preview is new."""

from __future__ import annotations

from pathlib import Path

import pytest

from openarts.cli.common import merge
from openarts.cli.jobs import _new_part
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
