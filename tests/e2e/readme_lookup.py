"""``python readme_lookup.py NAME``: what a reader of the README looks up by hand for the
placeholder ``<NAME>`` (the newest job, model, service...), looked up through the API of
the server whose home and port the environment names (``README_SERVER_HOME``,
``README_SERVER_PORT``). Run by tests/e2e/test_readme.py at the moment a command needs it."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openarts.testing.images import base_image
from openarts.testing.server import ServerProcess
from tests.e2e.conftest import signed_call


class Reader:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.project = server.credentials()["Project Id"]

    def get(self, path: str) -> Any:
        answer = signed_call(self.server, "GET", path.format(project_id=self.project))
        if answer.status_code != 200:
            raise SystemExit(f"GET {path}: {answer.status_code} {answer.text}")
        return answer.json()

    @staticmethod
    def newest(items: list[dict[str, Any]], created: str, key: str) -> str:
        if not items:
            raise SystemExit("nothing of the kind exists yet")
        return str(max(items, key=lambda item: item[created])[key])

    def job_id(self) -> str:
        answer = signed_call(
            self.server,
            "POST",
            f"/v2/{self.project}/training-job-searches",
            {"order": "desc", "limit": 1},
        )
        return str(answer.json()["items"][0]["metadata"]["id"])

    def model_id(self) -> str:
        return self.newest(self.get("/v1/{project_id}/models")["models"], "create_at", "model_id")

    def service_id(self) -> str:
        services = self.get("/v1/{project_id}/services")["services"]
        return self.newest(services, "publish_at", "service_id")

    def notebook_id(self) -> str:
        return self.newest(self.get("/v1/{project_id}/notebooks")["data"], "create_at", "id")

    def image_id(self) -> str:
        images = self.get("/v1/{project_id}/images")["data"]
        ready = [i for i in images if re.fullmatch(r"python3\.\d+-jupyterlab", i["name"])]
        return str(ready[0]["id"])

    def ak(self) -> str:
        return self.server.credentials()["Access Key Id"]

    def rita_ak(self) -> str:
        listed = self.server.cli("-o", "json", "credentials", "list", "rita")
        found = re.findall(r"[A-Z0-9]{20}", listed.stdout)
        if listed.returncode != 0 or not found:
            raise SystemExit(f"rita's keys: {listed.stdout} {listed.stderr}")
        return str(found[-1])

    def lookups(self) -> dict[str, Callable[[], str]]:
        return {
            "job-id": self.job_id,
            "model-id": self.model_id,
            "service-id": self.service_id,
            "notebook-id": self.notebook_id,
            "image-id": self.image_id,
            "AK": self.ak,
            "rita-ak": self.rita_ak,
            "local-image": base_image,
        }


NAMES = (
    "job-id",
    "model-id",
    "service-id",
    "notebook-id",
    "image-id",
    "AK",
    "rita-ak",
    "local-image",
)


def main() -> None:
    server = ServerProcess(
        Path(os.environ["README_SERVER_HOME"]), port=int(os.environ["README_SERVER_PORT"])
    )
    print(Reader(server).lookups()[sys.argv[1]]())


if __name__ == "__main__":
    main()
