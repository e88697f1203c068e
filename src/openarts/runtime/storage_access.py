"""Storage access for sandboxed tasks: a preparer that, after the kind's own, hands a
workload's tasks a temporary credential of their own (services/task_credentials.py)
and the object-storage endpoint as they reach it: its port on their own loopback,
forwarded by their sandbox to the platform's (backends/sandbox.py).

The variables are the ones code written for ModelArts, boto3, the OBS SDK and
TensorFlow's S3 file system read; the credential is never stored with the task's
template and reaches the task only through its sandbox's variables.
"""

from __future__ import annotations

from dataclasses import replace

from openarts.backends.base import PrepareError, TaskPreparer, TaskSpec
from openarts.db.engine import Database
from openarts.security.secrets_box import SecretBox
from openarts.services import task_credentials


class WithStorageCredentials:
    def __init__(
        self, inner: TaskPreparer, db: Database, box: SecretBox, *, obs_port: int, region: str
    ) -> None:
        self.inner = inner
        self.db = db
        self.box = box
        self.obs_port = obs_port
        self.region = region

    async def prepare(self, workload_id: str, specs: list[TaskSpec]) -> list[TaskSpec]:
        ready = await self.inner.prepare(workload_id, specs)
        # Only sandboxed tasks: one without a sandbox runs as the server's user anyway.
        if not self.obs_port or all(spec.view is None for spec in ready):
            return ready
        try:
            async with self.db.session() as session, session.begin():
                access_key, secret_key = await task_credentials.issue(
                    session, self.box, workload_id
                )
        except task_credentials.UnknownWorkload as error:
            raise PrepareError(str(error)) from None
        variables = storage_variables(access_key, secret_key, self.obs_port, self.region)
        # A variable the user set themselves (their own S3 elsewhere) wins.
        return [
            replace(spec, env={**variables, **spec.env}) if spec.view is not None else spec
            for spec in ready
        ]


def storage_variables(
    access_key: str, secret_key: str, obs_port: int, region: str
) -> dict[str, str]:
    host = f"127.0.0.1:{obs_port}"
    return {
        # ModelArts' own (TensorFlow's S3 file system reads them too).
        "S3_ENDPOINT": host,
        "S3_USE_HTTPS": "0",
        "S3_VERIFY_SSL": "0",
        # boto3 and the AWS CLI.
        "AWS_ENDPOINT_URL": f"http://{host}",
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": region,
        # The OBS SDK's environment provider.
        "OBS_ACCESS_KEY_ID": access_key,
        "OBS_SECRET_ACCESS_KEY": secret_key,
    }
