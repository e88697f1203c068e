"""The model reconciler: publishes each imported model.

publishing -> published once the package is copied into the model store, its
config.json is read and checked, and its environment (runtime plus dependencies) is
made; failed with the reason otherwise. The slow part runs beside the passes; a restart
simply publishes again what was publishing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openarts.backends.registry_client import RegistryAnswer
from openarts.db.engine import Database
from openarts.db.tables import Model
from openarts.domain.events import EventType
from openarts.domain.model_config import ModelConfigFile, parse_model_config
from openarts.domain.models import CUSTOM_TYPE, ModelStatus
from openarts.errors import OpenArtsError
from openarts.reconcile.folders import subfolders
from openarts.reconcile.leadership import Leadership
from openarts.reconcile.loop import SteppingReconciler
from openarts.runtime.engine_envs import EngineBuildError
from openarts.runtime.model_envs import ModelEnvironments
from openarts.runtime.model_packages import (
    CUSTOM_CONFIG,
    PackageError,
    fetch_package,
    package_requirements,
    package_size,
    remove_model_files,
)
from openarts.services import models as model_service
from openarts.services import registry_images
from openarts.services.events import record_event_sync
from openarts.services.registry_images import ModelImage

log = logging.getLogger("openarts.reconcile.models")


@dataclass(frozen=True, slots=True)
class Publishing:
    id: str
    project_id: str
    name: str
    model_type: str
    runtime: str
    source_location: str
    execution_code: str
    initial_config: str
    requested_requirements: list[str]
    # A container image's model: "true"/"false" (copy it or not); "": files from OBS.
    source_copy: str


class ModelReconciler(SteppingReconciler):
    def __init__(
        self,
        db: Database,
        platform: model_service.ModelPlatform,
        envs: ModelEnvironments,
        *,
        interval_s: float = 2.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.db = db
        self.platform = platform
        self.envs = envs
        super().__init__(interval_s=interval_s, leadership=leadership, log=log)

    async def run_once(self) -> None:
        for model_id in await self.db.run_in_transaction(_publishing):
            if model_id not in self._steps.busy:
                self._steps.start(model_id, self._publish(model_id))
        await self._collect_garbage()

    async def _collect_garbage(self) -> None:
        """Remove the files of models that are gone (deleted, or deleted while they were
        being published: the copy may end after the delete)."""
        names = await asyncio.to_thread(subfolders, self.platform.root)
        if not names:
            return
        known = await self.db.run_in_transaction(_known, names)
        for name in set(names) - known - self._steps.busy:
            await asyncio.to_thread(remove_model_files, self.platform.root, name)

    async def _publish(self, model_id: str) -> None:
        job = await self.db.run_in_transaction(_what_to_publish, model_id)
        if job is None:
            return
        try:
            if job.source_copy:
                config, image = await self._prepare_image(job)
                kept = await self.db.run_in_transaction(_published_image, model_id, config, image)
                if not kept and job.source_copy == "true" and self.platform.registry:
                    # Deleted while its image was copied: the copy goes too.
                    await registry_images.remove_model_copy(self.platform.registry, image.reference)
                return
            prepared = await self._prepare(job)
        except (PackageError, EngineBuildError, ValueError, RegistryAnswer) as error:
            await self.db.run_in_transaction(_failed, model_id, str(error))
            return
        except OpenArtsError as error:
            await self.db.run_in_transaction(_failed, model_id, error.error_msg)
            return
        except Exception as error:
            # Anything else (a full disk, say) fails the model rather than publishing it
            # again and again.
            log.exception("publishing model %s failed", model_id)
            await self.db.run_in_transaction(_failed, model_id, f"publishing failed: {error}")
            return
        await self.db.run_in_transaction(_published, model_id, *prepared)

    async def _prepare_image(self, job: Publishing) -> tuple[ModelConfigFile, ModelImage]:
        """A container image's model: its config (the request's initial_config; the
        image holds the rest) and its image, checked in the registry and copied there
        when asked."""
        if self.platform.images_unavailable:
            raise ValueError(f"image {job.source_location}: {self.platform.images_unavailable}")
        config = parse_model_config(job.initial_config or CUSTOM_CONFIG)
        if config.model_type != job.model_type:
            raise ValueError(
                f"initial_config says model_type {config.model_type}, the request "
                f"{job.model_type}: they must agree"
            )
        registry = self.platform.registry
        async with self.db.session() as session:
            # Again, now: the registry may not have run when the model was created.
            await registry_images.check_owned(
                session,
                registry.address if registry else None,
                job.project_id,
                job.source_location,
                "source_location",
            )
        copy = job.source_copy == "true"
        if copy:
            await self.db.run_in_transaction(
                _note, job.id, f"copying image {job.source_location} into the platform's registry"
            )
        image = await registry_images.model_image(
            self.platform.registry, job.source_location, job.id, copy
        )
        return config, image

    async def _prepare(self, job: Publishing) -> tuple[ModelConfigFile, str, str, int]:
        """The package in the store and its environment made: its config, runtime name,
        environment key and size."""
        custom = job.model_type == CUSTOM_TYPE
        folder, text = await fetch_package(
            self.platform.store,
            self.platform.root,
            job.id,
            job.source_location,
            execution_code=job.execution_code,
            # A custom server needs nothing of config.json the request does not give.
            initial_config=job.initial_config or (CUSTOM_CONFIG if custom else ""),
        )
        config = parse_model_config(text)
        if config.model_type != job.model_type:
            raise ValueError(
                f"config.json says model_type {config.model_type}, the request "
                f"{job.model_type}: they must agree"
            )
        requirements = job.requested_requirements or config.pip_requirements()
        if custom and not requirements:
            # As a custom image's Dockerfile would install it.
            requirements = await asyncio.to_thread(package_requirements, folder)
        named = job.runtime or config.runtime
        runtime = model_service.runtime_for(job.model_type, named)

        async def progress(message: str) -> None:
            await self.db.run_in_transaction(_note, job.id, message)

        if named and named != runtime.name and not job.runtime:
            await progress(f"runtime {named} (config.json) runs here as {runtime.name}")

        key, _ = await self.envs.ensure(runtime, requirements, progress)
        size = await asyncio.to_thread(package_size, folder)
        return config, runtime.name, key, size


# -- what each step reads and writes (plain functions of one transaction) --------------------
def _known(session: Session, names: list[str]) -> set[str]:
    return set(session.scalars(select(Model.id).where(Model.id.in_(names))))


def _publishing(session: Session) -> list[str]:
    return list(
        session.scalars(select(Model.id).where(Model.status == ModelStatus.PUBLISHING.value))
    )


def _what_to_publish(session: Session, model_id: str) -> Publishing | None:
    model = session.get(Model, model_id)
    if model is None or model.status != ModelStatus.PUBLISHING:
        return None
    return Publishing(
        id=model.id,
        project_id=model.project_id,
        name=model.name,
        model_type=model.model_type,
        runtime=model.runtime,
        source_location=model.source_location,
        execution_code=model.execution_code,
        initial_config=model.initial_config,
        requested_requirements=model_service.requested_requirements(model),
        source_copy=model.source_copy,
    )


def _note(session: Session, model_id: str, message: str) -> None:
    model = session.get(Model, model_id)
    if model is not None:
        record_event_sync(
            session,
            project_id=model.project_id,
            resource_type="model",
            resource_name=model.name,
            resource_id=model.id,
            reason="ModelPreparing",
            message=message,
        )


def _failed(session: Session, model_id: str, why: str) -> None:
    model = session.get(Model, model_id)
    if model is not None and model.status == ModelStatus.PUBLISHING:
        model_service.switch_model_status(
            session, model, ModelStatus.FAILED, why, event_type=EventType.WARNING
        )


def _published(
    session: Session, model_id: str, config: ModelConfigFile, runtime: str, key: str, size: int
) -> None:
    model = session.get(Model, model_id)
    if model is None or model.status != ModelStatus.PUBLISHING:
        return
    model_service.record_config(model, config)
    model.runtime = runtime
    model.environment = key
    model.size = size
    model_service.switch_model_status(session, model, ModelStatus.PUBLISHED, "")


def _published_image(
    session: Session, model_id: str, config: ModelConfigFile, image: ModelImage
) -> bool:
    """Whether the model was there to take its image (False: deleted meanwhile)."""
    model = session.get(Model, model_id)
    if model is None or model.status != ModelStatus.PUBLISHING:
        return model is not None
    model_service.record_config(model, config)
    model.image = image.reference
    model.size = image.size_bytes
    model_service.switch_model_status(session, model, ModelStatus.PUBLISHED, "")
    return True
