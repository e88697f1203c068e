"""Images: each image of the project (the presets and the ones users registered or saved)
with its size, status, registry path, and the notebooks and running jobs that use it.

The images API does not say who uses an image. The notebooks and training jobs APIs say
which image each of them runs, so the page reads one page of each and matches them here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from openarts.console import units
from openarts.console.api_client import ApiError, ConsoleApi, segment
from openarts.console.pages.common import items, page, total
from openarts.console.session import ApiDep, SessionDep
from openarts.domain.registry import split_reference
from openarts.domain.training import JobPhase
from openarts.schemas.images import IMAGE_TYPES
from openarts.schemas.training_jobs import SEARCH_MAX_LIMIT

router = APIRouter(prefix="/console", include_in_schema=False)
# One page of each list, so the page costs three calls however much the project holds.
IMAGES_READ = 100
NOTEBOOKS_READ = 100
# The search API's ceiling for one page (it refuses more).
JOBS_READ = SEARCH_MAX_LIMIT
# A job that has ended holds its image no more; asked of the API so that the one page
# read is spent on the jobs that still run.
LIVE_PHASES = [p.value for p in JobPhase if not p.finished]


def same_image(url: str, swr_path: str) -> bool:
    """Whether a job's image_url names the image at ``swr_path``: the same reference, or
    one ending with the other's path after its host. Users write the cloud's address
    (swr.<region>.myhuaweicloud.com/ns/name:tag) for an image the platform's registry
    holds as 127.0.0.1:8083/ns/name:tag, and the API runs the one for the other."""
    if not url or not swr_path:
        return False
    if url == swr_path:
        return True
    for one, other in ((url, swr_path), (swr_path, url)):
        path = split_reference(other)[1]
        # A bare name:tag (no namespace) would end every namespace's image of that name.
        if "/" in path and one.endswith("/" + path):
            return True
    return False


def job_image(job: dict[str, Any]) -> str:
    """The container image a job runs ("" for a preset engine's job)."""
    engine = (job.get("algorithm") or {}).get("engine") or {}
    return str(engine.get("image_url") or "")


def used_by(
    image: dict[str, Any], notebooks: list[dict[str, Any]], jobs: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """The notebooks on the image (by its ID) and the jobs that run it (by its path), each
    as the row's link to its own page."""
    found = [
        {
            "kind": "Notebook",
            "name": str(nb.get("name") or nb["id"]),
            "href": f"/console/notebooks/{segment(nb['id'])}",
            "status": str(nb.get("status") or ""),
        }
        for nb in notebooks
        if nb.get("id") and (nb.get("image") or {}).get("id") == image.get("id")
    ]
    swr_path = str(image.get("swr_path") or "")
    for job in jobs:
        meta, status = job.get("metadata") or {}, job.get("status") or {}
        if meta.get("id") and same_image(job_image(job), swr_path):
            found.append(
                {
                    "kind": "Training job",
                    "name": str(meta.get("name") or meta["id"]),
                    "href": f"/console/training-jobs/{segment(meta['id'])}",
                    "status": str(status.get("phase") or ""),
                }
            )
    return found


class Users:
    """The project's notebooks and running jobs, as far as one page of each goes; the
    calls that failed are kept to be said above the table (the images still shown), and
    whether either list had more than the page read."""

    def __init__(self) -> None:
        self.notebooks: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        self.failures: list[ApiError] = []
        self.partial = False

    async def read(self, api: ConsoleApi) -> Users:
        try:
            answer = await api.get("/v1/{project_id}/notebooks", limit=NOTEBOOKS_READ)
            self.notebooks = items(answer, "data")
            self.partial |= total(answer, "total", self.notebooks) > len(self.notebooks)
        except ApiError as error:
            self.failures.append(error)
        live = [{"key": "phase", "operator": "in", "value": LIVE_PHASES}]
        body = {"offset": 0, "limit": JOBS_READ, "sort_by": "create_time", "order": "desc"}
        try:
            answer = await api.post(
                "/v2/{project_id}/training-job-searches", {**body, "filters": live}
            )
            self.jobs = items(answer, "items")
            self.partial |= total(answer, "total", self.jobs) > len(self.jobs)
        except ApiError as error:
            self.failures.append(error)
        return self


@router.get("/images")
async def images(
    request: Request,
    session: SessionDep,
    api: ApiDep,
    image_type: Annotated[str, Query(alias="type")] = "",
    name: str = "",
) -> Response:
    if image_type and image_type not in IMAGE_TYPES:
        raise ApiError(400, "Console.0400", f"There is no image type {image_type!r}.")
    # Image names are lower case only (the API's own rule): "Torch" is meant to find
    # "torch", where the API would refuse it as a name that cannot be.
    fragment = name.strip().lower()
    answer = await api.get(
        "/v1/{project_id}/images", limit=IMAGES_READ, type=image_type, name=fragment
    )
    shown = items(answer, "data")
    users = await Users().read(api)
    rows = [
        {
            "image": image,
            "size": units.kilobytes(image.get("size")),
            "users": used_by(image, users.notebooks, users.jobs),
        }
        for image in shown
    ]
    return await page(
        request,
        session,
        api,
        "catalog/images.html",
        title="Images",
        rows=rows,
        total=total(answer, "total", shown),
        failures=users.failures,
        partial=users.partial,
        types=IMAGE_TYPES,
        image_type=image_type,
        name=name,
        reads=(NOTEBOOKS_READ, JOBS_READ),
    )
