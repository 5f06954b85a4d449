"""Bad cache parameters are reported at load with their key path and a clear message."""

from __future__ import annotations

import pytest

from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import (
    REPLACEMENT_NAMES,
    WRITE_POLICY_NAMES,
    CacheParams,
    Replacement,
    WritePolicy,
    check_params,
)
from npusim.errors import ConfigError


def test_defaults_are_valid_and_resolve_to_enums():
    params = CacheParams()
    assert check_params(params) == []
    assert (params.capacity_bytes, params.line_bytes, params.ways) == (4 * 2**20, 64, 16)
    assert params.sets == 4096 and params.lines == 65536
    assert params.replacement is Replacement.LRU
    assert CacheParams(write_policy="wt").write_policy is WritePolicy.WRITE_THROUGH
    assert CacheParams(replacement="PLRU").replacement is Replacement.PLRU
    assert REPLACEMENT_NAMES == ("lru", "fifo", "random", "plru")
    assert WRITE_POLICY_NAMES == ("write-back", "write-through")


@pytest.mark.parametrize(
    ("kwargs", "path", "message"),
    [
        (dict(capacity_bytes=4096, ways=3), "capacity_bytes",
         "4096 is not divisible by line_bytes x ways = 192"),
        (dict(capacity_bytes=3 * 64 * 4, ways=4), "capacity_bytes",
         "gives 3 sets; sets (capacity / (line x ways)) must be a power of 2"),
        (dict(line_bytes=48, capacity_bytes=48 * 16 * 64), "line_bytes",
         "must be a power of two, got 48"),
        (dict(ways=0), "ways", "must be >= 1, got 0"),
        (dict(banks=0), "banks", "must be >= 1, got 0"),
        (dict(mshrs=0), "mshrs", "must be >= 1, got 0"),
        (dict(port_bytes=0), "port_bytes", "must be >= 1, got 0"),
        (dict(hit_latency_cycles=-1), "hit_latency_cycles", "must be >= 0, got -1"),
        (dict(ways=2.5), "ways", "must be an integer, got 2.5"),
        (dict(replacement="lur"), "replacement",
         "unknown policy 'lur'; valid: lru, fifo, random, plru (did you mean 'lru'?)"),
        (dict(write_policy="write-bakc"), "write_policy",
         "unknown policy 'write-bakc'; valid: write-back, write-through, wb, wt "
         "(did you mean 'write-back'?)"),
        (dict(replacement="plru", ways=12, capacity_bytes=12 * 64 * 8), "ways",
         "plru needs a power-of-two number of ways, got 12"),
    ],
)  # fmt: skip
def test_each_problem_is_pinned(kwargs, path, message):
    assert check_params(CacheParams(**kwargs)) == [(path, message)]


def test_every_problem_is_reported_at_once_and_the_model_refuses_to_build():
    params = CacheParams(ways=0, banks=0, replacement="mru", write_policy="copy-back")
    problems = check_params(params)
    assert [path for path, _ in problems] == ["ways", "banks", "replacement", "write_policy"]
    with pytest.raises(ConfigError) as info:
        SetAssociativeCache(params)
    assert [p.path for p in info.value.problems] == [path for path, _ in problems]
    assert "valid: lru, fifo, random, plru" in str(info.value)


def test_block_access_rejects_empty_and_negative_ranges():
    cache = SetAssociativeCache(CacheParams(capacity_bytes=4096, ways=4))
    with pytest.raises(ValueError, match="size > 0"):
        cache.access_block(0, 0, False)
    with pytest.raises(ValueError, match="addr >= 0"):
        cache.access_block(-64, 64, False)
