"""Files of what is gone go with it: the model loop removes a deleted model's package,
the notebook loop the packages saved for a deleted image, when told so by the hints."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from openarts.db.tables import Model
from openarts.domain.engines import engine_catalog
from openarts.domain.models import ModelStatus
from openarts.reconcile.models import ModelReconciler
from openarts.reconcile.notebooks import NotebookReconciler
from openarts.runtime.engine_envs import EngineEnvironments
from openarts.runtime.env_builds import EnvironmentBuilder
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.notebook_envs import NotebookEnvironments
from openarts.runtime.notebook_runtime import NotebookRuntime
from openarts.schemas.images import ImageRegister
from openarts.security.secrets_box import SecretBox
from openarts.services import images as image_service
from openarts.services import models as model_service
from openarts.services.hints import Hint
from openarts.services.models import ModelPlatform
from openarts.services.notebooks import NotebookPlatform
from openarts.testing.fake_backends import FakeBackend
from tests.conftest import Scene, imported_model


def package(root: Path, name: str) -> Path:
    folder = root / name / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    return folder


async def test_a_deleted_models_files_go_at_the_next_pass(scene: Scene, tmp_path: Path) -> None:
    model_id = await imported_model(scene, "kept")

    def failed(session: Session) -> None:
        row = session.get(Model, model_id)
        assert row is not None
        model_service.switch_model_status(session, row, ModelStatus.FAILED, "not this time")

    await scene.db.run_in_transaction(failed)
    root = tmp_path / "models"
    kept, gone = package(root, model_id), package(root, "deleted-model")
    engines = EngineEnvironments(tmp_path / "engines", EnvironmentBuilder(None, tmp_path))
    loop = ModelReconciler(
        scene.db,
        ModelPlatform(root, scene.store),
        ModelEnvironments(
            tmp_path / "model-envs", engine_catalog(), engines, tmp_path / "model-server"
        ),
    )
    async with scene.db.session() as session, session.begin():
        deleted, refused = await model_service.delete_models(
            session, scene.caller.project_id, model_id, cascade=False
        )
    assert deleted == [model_id] and not refused
    assert Hint.MODELS in scene.woken()
    await loop.run_once()
    assert not kept.exists() and not gone.exists()


async def test_a_deleted_images_packages_go_when_the_loop_is_told(
    scene: Scene, tmp_path: Path
) -> None:
    box = SecretBox(Fernet.generate_key())
    platform = NotebookPlatform(
        catalog=None,  # type: ignore[arg-type]  # not read when nothing runs
        box=box,
        root=tmp_path / "notebooks",
        image_root=tmp_path / "images",
        endpoint="http://127.0.0.1:8080",
    )
    backend = FakeBackend()
    engines = EngineEnvironments(tmp_path / "engines", EnvironmentBuilder(None, tmp_path))
    runtime = NotebookRuntime(
        scene.db,
        NotebookEnvironments(engine_catalog(), engines),
        box,
        platform.root,
        platform.image_root,
        scene.store,
        backend,
    )
    loop = NotebookReconciler(scene.db, runtime, backend, platform)
    async with scene.db.session() as session, session.begin():
        image = await image_service.register_image(
            session,
            scene.caller.project_id,
            ImageRegister.model_validate({"swr_path": "swr.example.com/team/lab:1.0"}),
            None,
        )
    kept = platform.image_root / image.id / "site-packages"
    kept.mkdir(parents=True)
    left_by_a_crash = platform.image_root / "deleted-before-a-restart" / "site-packages"
    left_by_a_crash.mkdir(parents=True)
    await loop.run_once()
    assert kept.exists() and not left_by_a_crash.exists()
    deleted = platform.image_root / "deleted-now" / "site-packages"
    deleted.mkdir(parents=True)
    await loop.run_once()
    assert deleted.exists()  # looked for only after an image is deleted
    loop.images_gone()
    await loop.run_once()
    assert kept.exists() and not deleted.exists()
