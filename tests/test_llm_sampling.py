"""Sampled decode steps and the sum over every step between them (npusim/llm/sampling.py),
against hand-computed sums."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npusim.errors import ConfigError
from npusim.llm.sampling import sample_steps, sum_over_steps


def test_samples_spread_evenly_with_both_ends() -> None:
    # 10 steps, 4 samples: j * 9 / 3 = 0, 3, 6, 9
    assert sample_steps(10, 4) == (0, 3, 6, 9)
    # 10 steps, 5 samples: j * 9 / 4 = 0, 2.25, 4.5, 6.75, 9, rounded half up
    assert sample_steps(10, 5) == (0, 2, 5, 7, 9)
    assert sample_steps(3, 5) == (0, 1, 2)  # more samples than steps: every step
    assert sample_steps(1, 2) == (0,)


def test_an_affine_cost_sums_exactly() -> None:
    """f(i) = 3 + 2 i over steps 0..9: 10 x 3 + 2 x 45 = 120, from any samples with both ends."""
    for points in ((0, 9), (0, 3, 6, 9), (0, 2, 5, 7, 9), tuple(range(10))):
        assert sum_over_steps(points, [3 + 2 * i for i in points]) == pytest.approx(120)


@given(steps=st.integers(1, 500), samples=st.integers(2, 40),
       a=st.integers(-1000, 1000), b=st.integers(-1000, 1000))  # fmt: skip
def test_any_sampling_of_an_affine_cost_sums_exactly(steps: int, samples: int, a: int,
                                                     b: int) -> None:  # fmt: skip
    """sum_{i < n} (a + b i) = n a + b n (n - 1) / 2, whichever steps are sampled."""
    points = sample_steps(steps, samples)
    assert points[0] == 0 and points[-1] == steps - 1
    assert len(points) == min(steps, samples)
    exact = steps * a + b * steps * (steps - 1) / 2
    assert sum_over_steps(points, [a + b * i for i in points]) == pytest.approx(exact, abs=1e-6)


def test_a_curved_cost_sums_its_chords() -> None:
    """f(i) = i^2 over steps 0..9 sampled at the ends: the chord 9 i sums to 9 x 45 = 405
    (the exact sum is 285); with samples 0, 3, 9 the chords are 3 i on 0..2 (0 + 3 + 6 = 9)
    and 9 + 12 (i - 3) on 3..9 (7 x 9 + 12 x 21 = 315): 324."""
    assert sum_over_steps((0, 9), [0, 81]) == pytest.approx(405)
    assert sum_over_steps((0, 3, 9), [0, 9, 81]) == pytest.approx(324)
    assert sum_over_steps(tuple(range(10)), [i * i for i in range(10)]) == pytest.approx(285)


def test_bad_sampling_is_a_named_error() -> None:
    with pytest.raises(ConfigError, match="samples: expected at least 2"):
        sample_steps(10, 1)
    with pytest.raises(ConfigError, match="tokens: expected at least 1 decode step"):
        sample_steps(0, 5)
    with pytest.raises(ValueError, match="points must increase"):
        sum_over_steps((0, 5, 5), [1.0, 2.0, 3.0])
