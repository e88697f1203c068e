"""A training job that reads and writes the object store itself (boto3 with no
configuration: the variables its sandbox is given) reaches its project's buckets, not
another's, and its temporary credential ends with it."""

from __future__ import annotations

import json
import os

import pytest
from botocore.exceptions import ClientError
from huaweicloudsdkmodelarts.v1 import (
    CreateTrainingJobRequest,
    Job,
    JobAlgorithm,
    JobEngine,
    JobMetadata,
    Spec,
    SpecResource,
)

from openarts.testing.server import ServerProcess
from tests.e2e.conftest import sdk_client
from tests.e2e.test_sdk_training import FLAVOR, training_server, wait_for_phase
from tests.sandbox.test_a_notebook_sees_only_its_own import mallory_beside_a_victim
from tests.storage.conftest import s3_client

__all__ = ["training_server"]  # the fixture, shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the per-project uid needs root"),
]

# Reads its data and writes its result through the endpoint, and says what it holds.
SELF_SERVED = """
import json, os
import boto3
from botocore.exceptions import ClientError
s3 = boto3.client("s3")
rows = s3.get_object(Bucket="mallory-data", Key="data/rows.csv")["Body"].read().decode()
s3.put_object(Bucket="mallory-data", Key="out/count.txt", Body=str(len(rows.split())).encode())
try:
    s3.get_object(Bucket="victim-data", Key="secret.txt")
    foreign = "read"
except ClientError as error:
    foreign = error.response["Error"]["Code"]
s3.put_object(Bucket="mallory-data", Key="out/report.json", Body=json.dumps({
    "foreign": foreign,
    "endpoint": os.environ["S3_ENDPOINT"],
    "keys": [os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]],
}).encode())
"""


def test_a_job_reads_and_writes_its_projects_buckets_and_no_others(
    training_server: ServerProcess,
) -> None:
    server = training_server
    project_id, ak, sk = mallory_beside_a_victim(server)
    mallory_s3 = s3_client(server.obs_endpoint, ak, sk)
    mallory_s3.put_object(Bucket="mallory-data", Key="code/main.py", Body=SELF_SERVED.encode())
    mallory_s3.put_object(Bucket="mallory-data", Key="data/rows.csv", Body=b"1\n2\n3\n")

    sdk = sdk_client(server.endpoint, ak, sk, project_id)
    created = sdk.create_training_job(
        CreateTrainingJobRequest(
            body=Job(
                kind="job",
                metadata=JobMetadata(name="self-served"),
                algorithm=JobAlgorithm(
                    code_dir="/mallory-data/code/",
                    boot_file="/mallory-data/code/main.py",
                    engine=JobEngine(engine_id="python-builtin"),
                ),
                spec=Spec(resource=SpecResource(flavor_id=FLAVOR, node_count=1)),
            )
        )
    )
    job = wait_for_phase(sdk, created.metadata.id, "Completed", "Failed")
    assert job.status.phase == "Completed", job.status

    count = mallory_s3.get_object(Bucket="mallory-data", Key="out/count.txt")["Body"].read()
    assert count == b"3"
    report = json.loads(
        mallory_s3.get_object(Bucket="mallory-data", Key="out/report.json")["Body"].read()
    )
    print(report["foreign"], report["endpoint"])
    assert report["foreign"] == "AccessDenied"
    assert report["endpoint"] == f"127.0.0.1:{server.obs_port}"
    access_key, secret_key = report["keys"]
    assert access_key not in (ak, server.credentials()["Access Key Id"])
    # The job has ended: so has its credential.
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        s3_client(server.obs_endpoint, access_key, secret_key).list_buckets()
