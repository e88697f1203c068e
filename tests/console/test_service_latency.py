"""The latency chart's figures from two scrapes of the gateway's histogram."""

from __future__ import annotations

from openarts.console.service_latency import between, largest_bound_s, sample_of

SCRAPE = """\
# TYPE openarts_inference_request_seconds histogram
openarts_inference_request_seconds_bucket{{le="0.01",model_id="m1",service_id="s1"}} {a}
openarts_inference_request_seconds_bucket{{le="0.1",model_id="m1",service_id="s1"}} {b}
openarts_inference_request_seconds_bucket{{le="+Inf",model_id="m1",service_id="s1"}} {c}
openarts_inference_request_seconds_count{{model_id="m1",service_id="s1"}} {c}
openarts_inference_request_seconds_sum{{model_id="m1",service_id="s1"}} {total}
openarts_inference_request_seconds_bucket{{le="0.01",model_id="m9",service_id="other"}} 50.0
openarts_inference_request_seconds_bucket{{le="0.1",model_id="m9",service_id="other"}} 50.0
openarts_inference_request_seconds_bucket{{le="+Inf",model_id="m9",service_id="other"}} 50.0
openarts_inference_request_seconds_count{{model_id="m9",service_id="other"}} 50.0
openarts_inference_request_seconds_sum{{model_id="m9",service_id="other"}} 0.1
"""


def scrape(a: int, b: int, c: int, total: float) -> str:
    return SCRAPE.format(a=float(a), b=float(b), c=float(c), total=total)


def test_mean_and_p95_between_samples_of_one_service() -> None:
    before = sample_of(scrape(10, 10, 10, 0.05), "s1")
    assert before.count == 10
    # 20 more calls, all under 0.1 s, 1 s in all: mean 50 ms, p95 in the 0.1 s bucket.
    after = sample_of(scrape(15, 30, 30, 1.05), "s1")
    mean, p95 = between(before, after)
    assert mean is not None and abs(mean - 50.0) < 1e-6
    assert p95 == 100.0


def test_no_calls_between_samples_gives_no_point() -> None:
    same = sample_of(scrape(1, 1, 1, 0.001), "s1")
    assert between(same, same) == (None, None)
    assert sample_of("", "s1").count == 0


def test_slow_calls_past_every_bound_leave_p95_unknown() -> None:
    before = sample_of(scrape(0, 0, 0, 0.0), "s1")
    after = sample_of(scrape(0, 0, 4, 8.0), "s1")
    # Slower than 0.1 s, by how much the histogram cannot say: no figure, not 100 ms.
    assert between(before, after) == (2000.0, None)
    assert largest_bound_s(after) == 0.1
    assert largest_bound_s(sample_of("", "s1")) is None


def test_a_p95_inside_the_bounds_is_not_pushed_past_them_by_a_few_slow_calls() -> None:
    before = sample_of(scrape(0, 0, 0, 0.0), "s1")
    # 19 fast calls and 1 slow one: 95 % are within 0.01 s.
    after = sample_of(scrape(19, 19, 20, 5.0), "s1")
    assert between(before, after) == (250.0, 10.0)
