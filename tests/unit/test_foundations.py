"""Error table, settings, secrets, passwords, label selectors and the flavor catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openarts.domain.flavors import FlavorUse
from openarts.domain.labels import LabelSelectorError, parse_label_selector
from openarts.errors import OpenArtsError, error_table, status_for
from openarts.hostinfo import GpuInfo, HostInfo
from openarts.security.passwords import check_password, hash_password
from openarts.security.secrets_box import SecretBox
from openarts.services.flavors import CatalogError, FlavorCatalog
from openarts.settings import Settings

NO_GPU = HostInfo(cpus=2, memory_bytes=8 << 30, arch="x86")
ONE_GPU = HostInfo(
    cpus=16, memory_bytes=64 << 30, arch="x86", gpus=(GpuInfo(0, "NVIDIA H100", 81559),)
)


def test_error_table_follows_the_reference() -> None:
    table = error_table()
    assert len(table) > 800
    assert status_for("ModelArts.0101") == 400
    assert status_for("ModelArts.2836") == 404
    assert status_for("ModelArts.0010") == 500
    assert status_for("ModelArts.2785") == 403
    error = OpenArtsError("ModelArts.2790")
    assert error.status_code == 400
    assert error.body() == {"error_code": "ModelArts.2790", "error_msg": "UnsupportedSortBy"}
    with pytest.raises(KeyError):
        OpenArtsError("ModelArts.9999999")


def test_settings_read_the_environment_when_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENARTS_PORT", "9191")
    monkeypatch.setenv("OPENARTS_HOME", str(tmp_path))
    settings = Settings()
    assert settings.port == 9191
    assert settings.host == "127.0.0.1"
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/openarts.db"
    monkeypatch.setenv("OPENARTS_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log level"):
        Settings()


def test_secret_box_key_is_private_and_round_trips(tmp_path: Path) -> None:
    key = tmp_path / "home" / "secret.key"
    box = SecretBox.from_key_file(key)
    assert os.stat(key).st_mode & 0o777 == 0o600
    sealed = box.encrypt("the-secret")
    assert "the-secret" not in sealed
    assert SecretBox.from_key_file(key).decrypt(sealed) == "the-secret"
    other = SecretBox.from_key_file(tmp_path / "other.key")
    with pytest.raises(ValueError, match=r"secret\.key"):
        other.decrypt(sealed)
    key.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        SecretBox.from_key_file(key)


def test_passwords() -> None:
    stored = hash_password("correct horse")
    assert "correct horse" not in stored
    assert check_password("correct horse", stored)
    assert not check_password("wrong", stored)
    assert not check_password("x", "garbage")


def test_label_selectors() -> None:
    labels = {"os.modelarts/scope": "Train,Infer", "tier": "gold"}
    assert parse_label_selector("os.modelarts/scope=Train").matches(labels)
    assert not parse_label_selector("os.modelarts/scope=Notebook").matches(labels)
    assert parse_label_selector("tier==gold, os.modelarts/scope!=Pool").matches(labels)
    assert parse_label_selector("tier").matches(labels)
    assert not parse_label_selector("!tier").matches(labels)
    assert parse_label_selector("").matches({})
    with pytest.raises(LabelSelectorError):
        parse_label_selector("bad key=x")


def test_shipped_catalog_serves_every_use() -> None:
    catalog = FlavorCatalog.load(NO_GPU)
    for use in FlavorUse:
        assert catalog.for_use(use), use
    cpu = catalog.get("modelarts.vm.cpu.2u")
    gpu = catalog.get("modelarts.vm.gpu.1x")
    assert cpu is not None and gpu is not None
    assert catalog.unusable_reason(cpu) is None
    assert "GPU" in (catalog.unusable_reason(gpu) or "")
    assert FlavorCatalog.load(ONE_GPU).unusable_reason(gpu) is None


def test_catalog_override_and_its_errors(tmp_path: Path) -> None:
    override = tmp_path / "flavors.yaml"
    override.write_text("flavors:\n  - {name: tiny, vcpus: 1, memory_gib: 1, uses: [training]}\n")
    catalog = FlavorCatalog.load(NO_GPU, override)
    assert [f.name for f in catalog.flavors] == ["tiny"]
    override.write_text("flavors:\n  - {name: t, vcpus: 1, memory_gib: 1, uses: [flying]}\n")
    with pytest.raises(CatalogError, match=r"flavors\.yaml"):
        FlavorCatalog.load(NO_GPU, override)
    override.write_text(
        "flavors:\n  - {name: t, vcpus: 1, memory_gib: 1, uses: [training]}\n"
        "  - {name: t, vcpus: 2, memory_gib: 1, uses: [training]}\n"
    )
    with pytest.raises(CatalogError, match="twice"):
        FlavorCatalog.load(NO_GPU, override)
