"""Inputs that look like digits to str.isdigit() but not to int() ('³', '٣') are refused
with the input's own error, never a crash (found by the schemathesis run)."""

from __future__ import annotations

import pytest

from openarts.api.paging import page_start
from openarts.domain.training import RETRY_ANNOTATION, retries_allowed
from openarts.errors import OpenArtsError


@pytest.mark.parametrize("token", ["³", "٣", "1²"])
def test_a_continue_token_of_other_digits_is_refused(token: str) -> None:
    with pytest.raises(OpenArtsError):
        page_start(token)
    assert page_start("12") == 12


def test_a_retry_count_of_other_digits_is_refused() -> None:
    with pytest.raises(ValueError, match=RETRY_ANNOTATION):
        retries_allowed({RETRY_ANNOTATION: "³"})
