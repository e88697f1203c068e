"""OpenArts' own ``moxing``: the ``mox.file`` functions ModelArts code calls in practice,
over ``obs://`` (and ``s3://``) paths in the platform's object store and over local paths.

It reaches the store with the task's own temporary credential from its variables
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or ``OBS_*``, ``S3_ENDPOINT`` or
``AWS_ENDPOINT_URL``), which opens its project's buckets only. It is not Huawei's
``moxing-framework``; the parts of that package beyond ``mox.file`` (``mox.tensorflow``,
``mox.mindspore``, …) are not here and fail to import.
"""

from . import file

__version__ = "2.0.0-openarts"
__all__ = ["file"]
