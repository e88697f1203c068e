"""The platform's own namespace in its registry (models' copied images) is no project's,
not even one that bears its name; a repository path that folds into another's is no
one's either."""

from __future__ import annotations

import pytest

from openarts.domain.registry import PLATFORM_NAMESPACE, ScopeRequest
from openarts.errors import OpenArtsError
from openarts.services import registry_access, registry_images
from openarts.testing.factories import add_project, add_user
from tests.conftest import Api

REGISTRY = "127.0.0.1:8083"


async def test_a_project_named_as_the_platforms_namespace_gets_nothing_there(api: Api) -> None:
    project = await add_project(api.platform.db, PLATFORM_NAMESPACE)
    member = await add_user(api.platform.db, api.platform.box, "squatter", projects=[project])
    caller = registry_access.RegistryCaller(member.name, member.user_id)
    wanted = [
        ScopeRequest("repository", f"{PLATFORM_NAMESPACE}/model-x", ("pull", "push")),
        ScopeRequest("repository", f"{project}/mine", ("pull", "push")),
    ]
    async with api.platform.db.session() as session:
        grants = await registry_access.grants_for(session, caller, wanted)
        namespaces = await registry_access.project_namespaces(session, project)
        with pytest.raises(OpenArtsError) as refused:
            await registry_images.check_owned(
                session, REGISTRY, project, f"{REGISTRY}/{PLATFORM_NAMESPACE}/model-x:1", "x"
            )
    # Its ID still names it; the name it shares with the platform's namespace does not.
    assert [(g.name, g.actions) for g in grants] == [(f"{project}/mine", ("pull", "push"))]
    assert namespaces == {project}
    assert refused.value.error_code == "ModelArts.6797"
    # The nodes pull from it (the copies are what replicas run).
    nodes = registry_access.RegistryCaller(registry_access.NODE_USER, None)
    async with api.platform.db.session() as session:
        pulled = await registry_access.grants_for(session, nodes, wanted[:1])
    assert [g.actions for g in pulled] == [("pull",)]


async def test_a_path_that_folds_into_another_namespace_is_refused(api: Api) -> None:
    async with api.platform.db.session() as session:
        for image in (f"{REGISTRY}/default/../other/x:1", f"{REGISTRY}/default//x:1"):
            with pytest.raises(OpenArtsError) as refused:
                await registry_images.check_owned(
                    session, REGISTRY, api.project_id, image, "source_location"
                )
            assert refused.value.error_code == "ModelArts.6797"
            assert "is not a repository name" in refused.value.error_msg
        # A well-formed one of its own passes.
        await registry_images.check_owned(
            session, REGISTRY, api.project_id, f"{REGISTRY}/{api.project_id}/x:1", "x"
        )
