"""Cache parameters (the scenario's ``sram`` section) and their validation.

Policy names are :class:`Enum` values picked once at load; :func:`check_params` lists every
problem with its key path so the scenario loader can report them all at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum

MIB_BYTES = 1024 * 1024


class Replacement(Enum):
    """Replacement policy of a set: true LRU, FIFO, seeded random, tree pseudo-LRU."""

    LRU = "lru"
    FIFO = "fifo"
    RANDOM = "random"
    PLRU = "plru"


class WritePolicy(Enum):
    """Write-back implies write-allocate; write-through implies no-write-allocate."""

    WRITE_BACK = "write-back"
    WRITE_THROUGH = "write-through"


REPLACEMENT_NAMES: tuple[str, ...] = tuple(r.value for r in Replacement)
WRITE_POLICY_NAMES: tuple[str, ...] = tuple(w.value for w in WritePolicy)
WRITE_POLICY_ALIASES: dict[str, WritePolicy] = {
    "wb": WritePolicy.WRITE_BACK,
    "wt": WritePolicy.WRITE_THROUGH,
}


def _lookup(enum: type[Enum], value: object, aliases: dict | None = None) -> Enum | None:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        name = value.strip().lower()
        if aliases and name in aliases:
            return aliases[name]
        for member in enum:
            if member.value == name:
                return member
    return None


@dataclass(frozen=True)
class CacheParams:
    """Geometry and policies of the on-chip SRAM cache (SI units: bytes, cycles).

    ``replacement`` and ``write_policy`` accept the enum or its name (``"lru"``,
    ``"write-back"``, or ``"wb"``/``"wt"``); a valid name is turned into the enum here, an
    invalid one is kept so :func:`check_params` can report it. ``port_bytes`` is the bytes per
    cycle of one bank's port; ``hit_latency_cycles`` and the other defaults are scenario
    defaults (a 4 MiB, 16-way, 16-bank cache with 64 B lines), not measurements: set them
    from the target macro (e.g. a CACTI access time times the clock).
    """

    capacity_bytes: int = 4 * MIB_BYTES
    line_bytes: int = 64
    ways: int = 16
    replacement: Replacement | str = Replacement.LRU
    write_policy: WritePolicy | str = WritePolicy.WRITE_BACK
    banks: int = 16
    port_bytes: int = 64
    hit_latency_cycles: int = 2
    mshrs: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        replacement = _lookup(Replacement, self.replacement)
        if replacement is not None:
            object.__setattr__(self, "replacement", replacement)
        policy = _lookup(WritePolicy, self.write_policy, WRITE_POLICY_ALIASES)
        if policy is not None:
            object.__setattr__(self, "write_policy", policy)

    @property
    def lines(self) -> int:
        """Number of lines the cache holds."""
        return self.capacity_bytes // self.line_bytes

    @property
    def sets(self) -> int:
        """Number of sets (``capacity / (line * ways)``)."""
        return self.capacity_bytes // (self.line_bytes * self.ways)

    @property
    def write_allocate(self) -> bool:
        """True for write-back (write-allocate), False for write-through (no-allocate)."""
        return self.write_policy is WritePolicy.WRITE_BACK


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _unknown(value: object, valid: tuple[str, ...]) -> str:
    message = f"unknown policy {value!r}; valid: {', '.join(valid)}"
    close = difflib.get_close_matches(str(value).lower(), valid, n=1)
    return message + (f" (did you mean {close[0]!r}?)" if close else "")


def _check_ints(params: CacheParams) -> list[tuple[str, str]]:
    problems = []
    minimums = {"capacity_bytes": 1, "line_bytes": 1, "ways": 1, "banks": 1, "port_bytes": 1,
                "hit_latency_cycles": 0, "mshrs": 1, "seed": 0}  # fmt: skip
    for key, minimum in minimums.items():
        value = getattr(params, key)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((key, f"must be an integer, got {value!r}"))
        elif value < minimum:
            problems.append((key, f"must be >= {minimum}, got {value}"))
    return problems


def check_params(params: CacheParams) -> list[tuple[str, str]]:
    """Every problem of ``params`` as (key path relative to the sram section, message).

    Checks: integer fields in range (ways, banks, mshrs, line, port >= 1), power-of-two line
    size, capacity divisible by line x ways, power-of-two number of sets, known policy names
    (message lists the valid names and the closest one), power-of-two ways for ``plru``.
    """
    problems = _check_ints(params)
    bad = {key for key, _ in problems}
    if "line_bytes" not in bad and not _is_power_of_two(params.line_bytes):
        problems.append(("line_bytes", f"must be a power of two, got {params.line_bytes}"))
    if not bad & {"capacity_bytes", "line_bytes", "ways"}:
        set_bytes = params.line_bytes * params.ways
        if params.capacity_bytes % set_bytes:
            message = f"{params.capacity_bytes} is not divisible by line_bytes x ways = {set_bytes}"
            problems.append(("capacity_bytes", message))
        elif not _is_power_of_two(params.sets):
            message = (
                f"gives {params.sets} sets; sets (capacity / (line x ways)) must be a power of 2"
            )
            problems.append(("capacity_bytes", message))
    if not isinstance(params.replacement, Replacement):
        problems.append(("replacement", _unknown(params.replacement, REPLACEMENT_NAMES)))
    elif (
        params.replacement is Replacement.PLRU
        and "ways" not in bad
        and not _is_power_of_two(params.ways)
    ):
        message = f"plru needs a power-of-two number of ways, got {params.ways}"
        problems.append(("ways", message))
    if not isinstance(params.write_policy, WritePolicy):
        valid = (*WRITE_POLICY_NAMES, *WRITE_POLICY_ALIASES)
        problems.append(("write_policy", _unknown(params.write_policy, valid)))
    return problems
