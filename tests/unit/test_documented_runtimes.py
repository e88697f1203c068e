"""ModelArts' documented runtime names: each runs here in its type's framework runtime,
and the runtimes list shows them beside the platform's own."""

from __future__ import annotations

from openarts.api.model_views import engine_runtimes
from openarts.domain.engines import BUILTIN_ID
from openarts.domain.models import DOCUMENTED_RUNTIMES, choose_runtime, runtime_catalog


def test_every_documented_name_runs_in_its_frameworks_runtime() -> None:
    for model_type, names in DOCUMENTED_RUNTIMES.items():
        for name in names:
            chosen = choose_runtime(model_type, name)
            assert chosen is not None, (model_type, name)
            assert chosen.ai_engine == model_type and chosen.engine_id != BUILTIN_ID, chosen


def test_the_list_shows_them_after_the_platforms_own() -> None:
    listed = {e.ai_engine: e for e in engine_runtimes(runtime_catalog())}
    sklearn = listed["Scikit_Learn"]
    assert sklearn.runtimes is not None and sklearn.runtimes[0].startswith("scikit_learn_")
    assert {"python2.7", "python3.6"} <= set(sklearn.runtimes)
    assert "tf2.1-python3.7" in (listed["TensorFlow"].runtimes or [])
    pytorch = listed["PyTorch"]
    assert "pytorch_1.8.0-cuda_10.2-py_3.7.11-ubuntu_18.04-x86_64" in (pytorch.runtimes or [])
    assert pytorch.arch is not None and len(pytorch.arch) == len(pytorch.runtimes or [])


def test_each_type_defaults_to_its_frameworks_runtime() -> None:
    for model_type in ("Scikit_Learn", "XGBoost", "PyTorch", "TensorFlow", "MindSpore"):
        chosen = choose_runtime(model_type, None)
        assert chosen is not None and chosen.engine_id != BUILTIN_ID, model_type
