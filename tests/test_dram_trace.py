"""Trace reading: the vectorized reader agrees with the line parser; the binary form.

The line parser (``parse_trace``) is the reference: the vectorized reader must return the same
arrays on any trace it accepts, and leave every other one to the line parser (which names the
file and line of the first bad one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.errors import TraceError
from npusim.trace import (
    MAX_VALUE,
    Trace,
    _parse_bytes,
    _parse_compiled,
    parse_trace,
    read_trace,
    write_trace,
)

try:
    from npusim.dram._kernel import parse_trace as _compiled  # noqa: F401
except ImportError:
    COMPILED = False
else:
    COMPILED = True
READERS = {"numpy": _parse_bytes, "compiled": _parse_compiled}


@pytest.fixture(params=list(READERS))
def reader(request, monkeypatch):  # type: ignore[no-untyped-def]
    if request.param == "compiled":
        if not COMPILED:
            pytest.skip("the compiled extension was not built")
        monkeypatch.delenv("NPUSIM_PURE_PYTHON", raising=False)
    return READERS[request.param]


def _same(a: Trace, b: Trace) -> bool:
    cycles_equal = (a.arrival_cycle is None and b.arrival_cycle is None) or (
        a.arrival_cycle is not None
        and b.arrival_cycle is not None
        and np.array_equal(a.arrival_cycle, b.arrival_cycle)
    )
    return (
        np.array_equal(a.addr, b.addr)
        and a.addr.dtype == b.addr.dtype == np.uint64
        and np.array_equal(a.is_write, b.is_write)
        and np.array_equal(a.size_bytes, b.size_bytes)
        and cycles_equal
    )


number = st.one_of(
    st.integers(0, MAX_VALUE).map(str),
    st.integers(0, MAX_VALUE).map(hex),
    st.integers(0, 1 << 20).map(lambda v: f"0X{v:X}"),
    st.integers(0, 999).map(lambda v: f"00{v}"),  # leading zeros: decimal
)
line = st.tuples(
    st.sampled_from(["LD", "ST", "ld", "St", "R", "W", "r"]),
    number,
    st.one_of(st.none(), st.integers(1, 4096).map(str)),
    st.sampled_from([" ", "  ", "\t"]),
    st.sampled_from(["", " ", "  # note", "#x"]),
    st.sampled_from(["\n", "\r\n", "\n\n", "\n# comment line\n"]),
)


@pytest.mark.parametrize("name", list(READERS))
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=40), timed=st.booleans(), last=st.booleans())
def test_the_fast_readers_agree_with_the_line_parser(
    name: str, lines: list, timed: bool, last: bool
) -> None:
    if name == "compiled" and not COMPILED:
        pytest.skip("the compiled extension was not built")
    text, cycle = "", 0
    for k, (op, addr, size, sep, tail, end) in enumerate(lines):
        fields = [op, addr] + ([size] if size else [])
        if timed:
            cycle += k % 3
            fields.insert(0, str(cycle))
        text += sep.join(fields) + tail + end
    if not last:
        text = text.rstrip("\r\n")
    data = text.encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NPUSIM_PURE_PYTHON", raising=False)
        fast = READERS[name](data)
    assert fast is not None, text  # every line here is plain
    assert _same(fast, parse_trace(text.splitlines()))


@pytest.mark.parametrize(
    "text",
    [
        "LD 0x\n",  # no digits
        "LD 1_000\n",  # int() accepts it, the vectorized reader leaves it
        "3 R 1\n1 R 2\n",  # cycles decrease
        "LD 1 2 3\n",
        "X 1\n",
        "LD 0x10 0\n",  # size 0
        "LD 0x10\n5 R 3\n",  # mixed forms
        f"LD {MAX_VALUE + 1}\n",
        "LD 0x1\rLD 0x2\n",  # a lone CR breaks lines for the line parser
        "LD 1\x01\n",
        "# nothing\n\n",
        "LD \u00b9\n",  # non-ASCII
    ],
)
def test_unusual_text_goes_to_the_line_parser(text: str, tmp_path: Path, reader) -> None:
    assert reader(text.encode()) is None
    path = tmp_path / "t.trace"
    path.write_text(text)
    try:
        expected = parse_trace(text.splitlines(), str(path))
    except TraceError as err:
        with pytest.raises(TraceError, match=str(path)):
            read_trace(path)
        assert str(err).startswith(str(path))
    else:
        assert _same(read_trace(path), expected)


def test_a_large_trace_is_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import npusim.trace as trace_module

    monkeypatch.setattr(trace_module, "_CHUNK_BYTES", 64)  # many chunks, cut at line ends
    rng = np.random.default_rng(3)
    addr = rng.integers(0, 1 << 40, 500)
    text = "".join(f"{k} {'W' if a % 3 == 0 else 'R'} {a:#x} 64\n" for k, a in enumerate(addr))
    path = tmp_path / "big.trace"
    path.write_text(text)
    assert _same(read_trace(path), parse_trace(text.splitlines()))


@pytest.mark.parametrize("timed", [False, True])
def test_binary_trace_round_trips(timed: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 100
    trace = Trace(
        addr=rng.integers(0, 1 << 30, n).astype(np.uint64),
        is_write=rng.random(n) < 0.3,
        size_bytes=rng.choice([0, 32, 64], n).astype(np.int64),
        arrival_cycle=np.cumsum(rng.integers(0, 5, n)) if timed else None,
    )
    path = tmp_path / "t.npy"
    write_trace(path, trace)
    assert _same(read_trace(path), trace)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (np.zeros(3, dtype=np.int64), "structured array with fields addr, is_write"),
        (np.zeros(0, dtype=[("addr", "<u8"), ("is_write", "?"), ("size_bytes", "<i8")]),
         "no requests"),
        (np.array([(MAX_VALUE + 1, False, 0)],
                  dtype=[("addr", "<u8"), ("is_write", "?"), ("size_bytes", "<i8")]),
         "an address is larger"),
        (np.array([(0, False, -1)],
                  dtype=[("addr", "<u8"), ("is_write", "?"), ("size_bytes", "<i8")]),
         "a size is outside"),
        (np.array([(0, False, 0, 5), (0, False, 0, 4)],
                  dtype=[("addr", "<u8"), ("is_write", "?"), ("size_bytes", "<i8"),
                         ("arrival_cycle", "<i8")]),
         "arrival cycles decrease"),
    ],
)  # fmt: skip
def test_bad_binary_traces_are_named_errors(table: np.ndarray, message: str, tmp_path) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, table)
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_a_file_that_is_not_npy_is_a_named_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.npy"
    path.write_bytes(b"LD 0x10\n")
    with pytest.raises(TraceError, match=r"not a \.npy trace"):
        read_trace(path)
