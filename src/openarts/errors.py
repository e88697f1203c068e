"""OpenArtsError and the one table from ModelArts error codes to HTTP statuses.

The table is ``data/error_codes.tsv``, generated from the API reference by
``tools/gen_error_codes.py``.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def error_table() -> dict[str, tuple[int, str]]:
    """Code -> (HTTP status, the reference's message)."""
    text = resources.files("openarts.data").joinpath("error_codes.tsv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    return {row["code"]: (int(row["status"]), row["message"]) for row in rows}


def status_for(code: str) -> int:
    try:
        return error_table()[code][0]
    except KeyError:
        raise KeyError(f"{code} is not in the ModelArts error-code table") from None


class OpenArtsError(Exception):
    """A failure the caller should see, carrying a ModelArts error code.

    The HTTP status comes from the code's row in the reference's table, so domain code
    never chooses statuses itself.
    """

    def __init__(
        self, error_code: str, error_msg: str | None = None, *, retry_after_s: int | None = None
    ) -> None:
        self.status_code = status_for(error_code)
        self.error_code = error_code
        self.error_msg = error_msg or error_table()[error_code][1]
        # A 429's wait, said in Retry-After as HTTP clients read it.
        self.retry_after_s = retry_after_s
        super().__init__(f"{error_code}: {self.error_msg}")

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "error_msg": self.error_msg}


# The codes the platform itself uses, named once so a typo cannot invent a code.
INVALID_ARGUMENT = "ModelArts.0101"
INVALID_JSON = "ModelArts.2787"
PATH_NOT_FOUND = "ModelArts.2836"
METHOD_NOT_ALLOWED = "ModelArts.2803"
BODY_TOO_LARGE = "ModelArts.4104"
INTERNAL_ERROR = "ModelArts.0010"
SYSTEM_BUSY = "ModelArts.6101"
NO_AUTH_HEADER = "ModelArts.0205"
BAD_AUTH_HEADER = "ModelArts.0206"
AUTH_CHECK_FAILED = "ModelArts.0208"
UNKNOWN_ACCESS_KEY = "ModelArts.3801"
TOKEN_INVALID = "ModelArts.0203"
TOKEN_EXPIRED = "ModelArts.0202"
PROJECT_FORBIDDEN = "ModelArts.0210"
OPERATION_FORBIDDEN = "ModelArts.0108"
IAM_ERROR = "ModelArts.4504"
# 429: a login tried too often (the reference's "Excessive number of requests to %s.").
TOO_MANY_LOGINS = "ModelArts.4206"
AUTHORIZATION_EXISTS = "ModelArts.0424"
AUTHORIZATION_ADD_FAILED = "ModelArts.0425"
AUTHORIZATION_MISSING = "ModelArts.0429"
AUTHORIZATION_NOT_FOUND = "ModelArts.2785"
QUERY_AGENCY_FAILED = "ModelArts.0420"
# Resource pools, networks and plug-in templates answer with their own codes.
POOL_BAD_REQUEST = "ModelArts.50004000"
POOL_EXISTS = "ModelArts.50015000"
POOL_NOT_FOUND = "ModelArts.50015001"
NETWORK_NOT_FOUND = "ModelArts.50025001"
PLUGIN_TEMPLATE_NOT_FOUND = "ModelArts.50005101"
# Training: algorithms and jobs (the reference answers most of them with 400).
TRAINING_JOB_EXISTS = "ModelArts.2751"
ALGORITHM_EXISTS = "ModelArts.2752"
ALGORITHM_NOT_FOUND = "ModelArts.2755"
CODE_DIR_ERROR = "ModelArts.2757"
BOOT_FILE_ERROR = "ModelArts.2758"
TRAINING_QUERY_ERROR = "ModelArts.2764"
TRAINING_JOB_NOT_FOUND = "ModelArts.2775"
ENGINE_NOT_FOUND = "ModelArts.2780"
FLAVOR_NOT_FOUND = "ModelArts.2781"
TRAINING_BAD_PARAMETER = "ModelArts.2788"
UNSUPPORTED_SORT_BY = "ModelArts.2790"

# DevEnviron (notebook instances and images).
NOTEBOOK_NOT_FOUND = "ModelArts.6309"
NOTEBOOK_RUNNING = "ModelArts.6305"
NOTEBOOK_STARTING = "ModelArts.6306"
NOTEBOOK_STOPPED = "ModelArts.6307"
NOTEBOOK_STOPPING = "ModelArts.6308"
NOTEBOOK_NOT_RUNNING = "ModelArts.6327"
NOTEBOOK_BUSY = "ModelArts.6357"
NOTEBOOK_FIELD_LOCKED = "ModelArts.6347"
NOTEBOOK_BAD_VALUE = "ModelArts.6336"
NOTEBOOK_FLAVOR_UNSUPPORTED = "ModelArts.6323"
NOTEBOOK_FLAVOR_SOLD_OUT = "ModelArts.6329"
NOTEBOOK_FLAVOR_NOT_SWITCHABLE = "ModelArts.6792"
NOTEBOOK_LEASE_RANGE = "ModelArts.6349"
NOTEBOOK_STORAGE_TYPE = "ModelArts.6324"
NOTEBOOK_OBS_ACCESS = "ModelArts.6320"
NOTEBOOK_OBS_ROOT = "ModelArts.6358"
STORAGE_PATH_NOT_FOUND = "ModelArts.6624"
IMAGE_NOT_FOUND = "ModelArts.6797"
IMAGE_TAG_CONFLICT = "ModelArts.6737"

# Models.
MODEL_NOT_FOUND = "ModelArts.3001"
MODEL_EXISTS = "ModelArts.3002"
MODEL_IN_USE = "ModelArts.3009"
MODEL_CONFIG_INVALID = "ModelArts.3015"
MODEL_SOURCE_INVALID = "ModelArts.3017"
MODEL_PARAMETER_INVALID = "ModelArts.3037"

# Real-time services and the inference gateway.
SERVICE_NOT_FOUND = "ModelArts.3502"
SERVICE_EXISTS = "ModelArts.3503"
SERVICE_MODEL_NOT_FOUND = "ModelArts.3507"
SERVICE_MODEL_NOT_READY = "ModelArts.3515"
SERVICE_TYPE_UNAVAILABLE = "ModelArts.3518"
SERVICE_NOT_UPDATABLE = "ModelArts.3519"
SERVICE_POOL_NOT_FOUND = "ModelArts.3547"
SERVICE_NO_RESOURCES = "ModelArts.3952"
SPECIFICATION_NOT_FOUND = "ModelArts.4507"
INFER_SERVICE_UNAVAILABLE = "ModelArts.4203"
INFER_API_ERROR = "ModelArts.4204"
INFER_GATEWAY_ERROR = "ModelArts.4302"
