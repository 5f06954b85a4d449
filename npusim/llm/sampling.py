"""Decode steps at sampled KV lengths, and the sum over every step between them.

A generation run of ``N`` decode steps runs step ``i`` (``0 <= i < N``) at KV length
``P + i``. Its cost (time, energy, bytes) is nearly affine in the KV length: the weights are
the same every step and the KV cache read grows by one row per step. So instead of
simulating every step, :func:`sample_steps` picks a few steps spread evenly over the run
(the first and the last always among them), and :func:`sum_over_steps` adds up the
piecewise-linear interpolation of the sampled values over every step. The sum is exact for
any quantity affine in the step index (the KV bytes are); the error for the rest is bounded
by a test against simulating every step (tests/test_llm_generate.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from npusim.errors import ConfigError, Problem


def sample_steps(steps: int, samples: int) -> tuple[int, ...]:
    """``samples`` step indices in ``[0, steps)`` spread evenly, first and last included
    (every step when ``samples >= steps``); raises :class:`ConfigError` for ``steps < 1`` or
    ``samples < 2`` (one sample cannot show a slope)."""
    if steps < 1:
        raise ConfigError(Problem("tokens", f"expected at least 1 decode step, got {steps}"))
    if samples < 2:
        raise ConfigError(Problem("samples", f"expected at least 2 samples, got {samples}"))
    if samples >= steps:
        return tuple(range(steps))
    # integer arithmetic: index j of samples lands on round(j * (steps - 1) / (samples - 1))
    span, last = steps - 1, samples - 1
    return tuple(sorted({(2 * j * span + last) // (2 * last) for j in range(samples)}))


def sum_over_steps(points: Sequence[int], values: Sequence[float]) -> float:
    """The sum over every step ``points[0] .. points[-1]`` of the piecewise-linear
    interpolation of ``values`` (``values[j]`` measured at step ``points[j]``; ``points``
    strictly increasing). Between two samples ``a < b`` the steps ``a .. b - 1`` add
    ``(b - a) * v_a + (v_b - v_a) * (b - a - 1) / 2``; the last sample adds itself."""
    if len(points) != len(values) or not points:
        raise ValueError("points and values must be equally long and not empty")
    total = 0.0
    for j in range(len(points) - 1):
        a, b = points[j], points[j + 1]
        if b <= a:
            raise ValueError(f"points must increase, got {a} then {b}")
        width = b - a
        total += width * values[j] + (values[j + 1] - values[j]) * (width - 1) / 2
    return total + values[-1]
