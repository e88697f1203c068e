"""Resource pool tags (v1) and finding pools by tag."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openarts.api.deps import CallerDep, PoolChangesDep, SessionDep
from openarts.schemas.common import ERROR_RESPONSES, MAX_OFFSET
from openarts.schemas.pools import (
    AllTagsWire,
    ResourceFilterIn,
    TaggedResourcesWire,
    TaggedResourceWire,
    TagsDeleteIn,
    TagsIn,
    TagsWire,
    TagValuesWire,
    TagWire,
)
from openarts.services import pools as pool_service

router = APIRouter(
    prefix="/v1/{project_id}/pools", tags=["Resource pool tags"], responses=ERROR_RESPONSES
)


def _tags(tags: dict[str, str]) -> list[TagWire]:
    return [TagWire(key=k, value=v) for k, v in sorted(tags.items())]


# Registered before /{pool_name}/tags so that "tags" is never taken for a pool name.
@router.get("/tags", response_model=AllTagsWire, summary="Query all tags of resource pools")
async def all_tags(
    caller: CallerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AllTagsWire:
    pools = await pool_service.list_pools(session, project_id=caller.project_id)
    tags = await pool_service.tags_of(session, [p.name for p in pools])
    values: dict[str, set[str]] = {}
    for pool_tags in tags.values():
        for key, value in pool_tags.items():
            values.setdefault(key, set()).add(value)
    keys = sorted(values)[offset : offset + limit]
    return AllTagsWire(tags=[TagValuesWire(key=k, values=sorted(values[k])) for k in keys])


@router.post(
    "/resource-instances/filter",
    response_model=TaggedResourcesWire,
    summary="Query resource pools by tag",
)
async def filter_by_tags(
    body: ResourceFilterIn,
    caller: CallerDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaggedResourcesWire:
    pools = await pool_service.list_pools(session, project_id=caller.project_id)
    tags = await pool_service.tags_of(session, [p.name for p in pools])
    fuzzy = next((m.value.lower() for m in body.matches or []), "")
    found = []
    for pool in pools:
        have = tags[pool.name]
        # Tags are ANDed; within one tag, any of its values will do (none: the key alone).
        if not all(
            t.key in have and (not t.values or have[t.key] in t.values) for t in body.tags or []
        ):
            continue
        if fuzzy and fuzzy not in pool.display_name.lower():
            continue
        found.append(
            TaggedResourceWire(
                resource_name=pool.display_name, resource_id=pool.name, tags=_tags(have)
            )
        )
    return TaggedResourcesWire(total_count=len(found), resources=found[offset : offset + limit])


@router.post("/{pool_name}/tags/create", status_code=204, summary="Create pool tags in batches")
async def create_tags(
    pool_name: str, body: TagsIn, caller: CallerDep, changes: PoolChangesDep
) -> Response:
    # One change at a time: two requests adding the same key must not collide.
    async with changes.open() as session:
        pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
        await pool_service.add_tags(session, pool, {t.key: t.value for t in body.tags})
    return Response(status_code=204)


@router.delete("/{pool_name}/tags/delete", status_code=204, summary="Delete pool tags in batches")
async def delete_tags(
    pool_name: str, body: TagsDeleteIn, caller: CallerDep, session: SessionDep
) -> Response:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    await pool_service.remove_tags(session, pool, [(t.key, t.value) for t in body.tags])
    return Response(status_code=204)


@router.get("/{pool_name}/tags", response_model=TagsWire, summary="Query the tags of a pool")
async def pool_tags(pool_name: str, caller: CallerDep, session: SessionDep) -> TagsWire:
    pool = await pool_service.get_pool(session, project_id=caller.project_id, name=pool_name)
    tags = await pool_service.tags_of(session, [pool.name])
    return TagsWire(tags=_tags(tags[pool.name]))
