"""The brake on password guessing: per name and client, within a window."""

from __future__ import annotations

from openarts.security.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_name_is_refused_from_one_client_after_the_limit_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("Rita", "10.0.0.1") == 0
        throttle.failed("Rita", "10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("rita", "10.0.0.1") == 57  # names are matched as IAM does
    # Another client, or another name, is not slowed by it.
    assert throttle.retry_after("rita", "10.0.0.2") == 0
    assert throttle.retry_after("bob", "10.0.0.1") == 0
    clock.now += 57
    assert throttle.retry_after("rita", "10.0.0.1") == 0


def test_a_success_forgets_the_failures_and_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(limit=2, window_s=60, max_keys=5, clock=clock)
    throttle.failed("rita", "a")
    throttle.succeeded("rita", "a")
    throttle.failed("rita", "a")
    assert throttle.retry_after("rita", "a") == 0
    for n in range(20):
        clock.now += 100  # each made-up name's count has expired by the next
        throttle.failed(f"made-up-{n}", f"client-{n}")
    assert len(throttle._failures) <= 5


def test_one_address_cannot_try_many_names_nor_flush_a_guessed_ones_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(limit=3, client_limit=6, window_s=60, max_keys=4, clock=clock)
    throttle.failed("rita", "mallory")
    throttle.failed("rita", "mallory")
    for n in range(4):
        throttle.failed(f"made-up-{n}", "mallory")
    # Six failures from that address: every name waits, rita's too.
    assert throttle.retry_after("rita", "mallory") > 0
    assert throttle.retry_after("someone-else", "mallory") > 0
    # Others are not slowed by it.
    assert throttle.retry_after("rita", "elsewhere") == 0
