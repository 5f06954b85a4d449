"""Text trace reading: the vectorized readers agree with the line parser, byte for byte.

The line parser (``parse_trace``) is the reference: the numpy reader (``parse_text_bytes``)
and the compiled one must return the same arrays on any trace they accept, and leave every
other one to the line parser, which names the file and line of the first bad one. Expected
values in the hand-written cases are read off the text by hand, not from any reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import npusim.trace_text as text_module
from npusim.errors import TraceError
from npusim.trace import MAX_VALUE, Trace, _parse_compiled, parse_trace, read_trace
from npusim.trace_text import parse_text_bytes

try:
    from npusim.dram._kernel import parse_trace as _compiled  # noqa: F401
except ImportError:
    COMPILED = False
else:
    COMPILED = True
READERS = {"numpy": parse_text_bytes, "compiled": _parse_compiled}


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
        and a.arrival_cycle.dtype == b.arrival_cycle.dtype == np.int64
        and np.array_equal(a.arrival_cycle, b.arrival_cycle)
    )
    return (
        np.array_equal(a.addr, b.addr)
        and a.addr.dtype == b.addr.dtype == np.uint64
        and np.array_equal(a.is_write, b.is_write)
        and a.is_write.dtype == b.is_write.dtype == np.bool_
        and np.array_equal(a.size_bytes, b.size_bytes)
        and a.size_bytes.dtype == b.size_bytes.dtype == np.int64
        and cycles_equal
    )


number = st.one_of(
    st.integers(0, MAX_VALUE).map(str),
    st.integers(0, MAX_VALUE).map(hex),
    st.integers(0, 1 << 20).map(lambda v: f"0X{v:X}"),
    st.integers(0, 999).map(lambda v: f"00{v}"),  # leading zeros: decimal
)
long_number = st.one_of(  # the numpy reader's too; the compiled one leaves these to it
    number,
    st.integers(0, MAX_VALUE).map(lambda v: f"0x{v:016x}"),  # 16 digits
    st.integers(0, 10**8).map(lambda v: f"{v:016d}"),
)


def lines_of(numbers: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(
        st.sampled_from(["LD", "ST", "ld", "St", "R", "W", "r", "w"]),
        numbers,
        st.one_of(st.none(), st.integers(1, 4096).map(str), st.just("0x40")),
        st.sampled_from([" ", "  ", "\t"]),
        st.sampled_from(["", " ", "  # note", "#x"]),
        st.sampled_from(["\n", "\r\n", "\n\n", "\n# comment line\n"]),
    )


def _text_of(lines: list, timed: bool, last: bool) -> str:
    text, cycle = "", 0
    for k, (op, addr, size, sep, tail, end) in enumerate(lines):
        fields = [op, addr] + ([size] if size else [])
        if timed:
            cycle += k % 3
            fields.insert(0, str(cycle))
        text += sep.join(fields) + tail + end
    return text if last else text.rstrip("\r\n")


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(lines_of(long_number), min_size=1, max_size=40), timed=st.booleans(),
       last=st.booleans(),
       chunk_bytes=st.sampled_from([1, 40, text_module.CHUNK_BYTES]))  # fmt: skip
def test_the_numpy_reader_agrees_with_the_line_parser(
    lines: list, timed: bool, last: bool, chunk_bytes: int
) -> None:
    text = _text_of(lines, timed, last)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_module, "CHUNK_BYTES", chunk_bytes)  # chunks cut at line ends
        fast = parse_text_bytes(text.encode())
    assert fast is not None, text  # every line here is plain
    assert _same(fast, parse_trace(text.splitlines()))


@pytest.mark.skipif(not COMPILED, reason="the compiled extension was not built")
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(lines_of(number), min_size=1, max_size=40), timed=st.booleans(),
       last=st.booleans())  # fmt: skip
def test_the_compiled_reader_agrees_with_the_line_parser(
    lines: list, timed: bool, last: bool
) -> None:
    text = _text_of(lines, timed, last)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NPUSIM_PURE_PYTHON", raising=False)
        fast = _parse_compiled(text.encode())
    assert fast is not None, text  # every line here is plain
    assert _same(fast, parse_trace(text.splitlines()))


HAND_WRITTEN = {
    "untimed, comments, blank lines, hex and decimal, sizes": (
        "# a hand-written trace\n\nLD 0x40\nST   4096 64   # a write of a line\n"
        "\n  ld 0X1F\r\n\tst 7 1\n# the end\n",
        Trace(
            addr=np.array([0x40, 4096, 0x1F, 7], dtype=np.uint64),
            is_write=np.array([False, True, False, True]),
            size_bytes=np.array([0, 64, 0, 1], dtype=np.int64),
            arrival_cycle=None,
        ),
    ),
    "timed, hex cycles, no final newline": (
        "0 R 0x0\n5 W 0x8000 64\n0x10 r 12345678901234\n16 w 0xABCDEF012345",
        Trace(
            addr=np.array([0, 0x8000, 12345678901234, 0xABCDEF012345], dtype=np.uint64),
            is_write=np.array([False, True, False, True]),
            size_bytes=np.array([0, 64, 0, 0], dtype=np.int64),
            arrival_cycle=np.array([0, 5, 16, 16], dtype=np.int64),
        ),
    ),
}


@pytest.mark.parametrize("case", list(HAND_WRITTEN))
def test_hand_written_traces(case: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text, expected = HAND_WRITTEN[case]
    assert _same(parse_trace(text.splitlines()), expected)
    assert _same(parse_text_bytes(text.encode()), expected)
    path = tmp_path / "t.trace"
    path.write_text(text)
    monkeypatch.setenv("NPUSIM_PURE_PYTHON", "1")
    assert _same(read_trace(path), expected)


@pytest.mark.parametrize("base", [10, 16])
@pytest.mark.parametrize("digits", range(1, 18))
def test_every_number_width(base: int, digits: int) -> None:
    """1 to 16 digits are read (the two 8-byte words); 17 go to the line parser."""
    rng = np.random.default_rng(digits * base)
    significant = min(digits, 12 if base == 16 else 14)  # within MAX_VALUE; zeros in front
    picks = rng.integers(0, base, (20, significant))
    picks[:, 0] = np.maximum(picks[:, 0], 1)
    zeros = "0" * (digits - significant)
    tokens = [zeros + "".join("0123456789abcdef"[d] for d in row) for row in picks]
    prefix = "0x" if base == 16 else ""
    text = "".join(f"LD {prefix}{t}\n" for t in tokens)
    values = [int(t, base) for t in tokens]
    parsed = parse_text_bytes(text.encode())
    if digits > 16:
        assert parsed is None
    else:
        assert parsed is not None and parsed.addr.tolist() == values


@pytest.mark.parametrize(
    "bad",
    ["/", ":", "@", "G", "`", "g", "x", "-", "+", "_", "."],  # next to '0'-'9', 'a'-'f', 'A'-'F'
)
@pytest.mark.parametrize("position", [0, 3, 7, 8, 11])
def test_a_non_digit_anywhere_in_a_number_leaves_the_file(bad: str, position: int) -> None:
    for prefix in ("", "0x"):
        digits = list("123456789abc" if prefix else "123456789012")
        if bad in "abcdef" and prefix:
            continue
        digits[position] = bad
        assert parse_text_bytes(f"LD 0x40\nLD {prefix}{''.join(digits)}\n".encode()) is None


def test_limits_of_values() -> None:
    assert parse_text_bytes(f"LD {MAX_VALUE}\nLD {MAX_VALUE:#x}\n".encode()) is not None
    assert parse_text_bytes(f"LD {MAX_VALUE + 1}\n".encode()) is None
    assert parse_text_bytes(f"LD {MAX_VALUE + 1:#x}\n".encode()) is None
    assert parse_text_bytes(b"LD 0x0 1073741824\n") is not None  # 1 GiB
    assert parse_text_bytes(b"LD 0x0 1073741825\n") is None


@pytest.mark.parametrize(
    "text",
    [
        "LD 0x\n",  # no digits
        "LD 1_000\n",  # int() accepts it, the vectorized reader leaves it
        "LD +5\n",  # likewise
        "3 R 1\n1 R 2\n",  # cycles decrease
        "LD 1 2 3\n",
        "LD\n",
        "X 1\n",
        "LDX 1\n",
        "LD 0x10 0\n",  # size 0
        "LD 0x10\n5 R 3\n",  # mixed forms
        f"LD {MAX_VALUE + 1}\n",
        "LD 0x1\rLD 0x2\n",  # a lone CR breaks lines for the line parser
        "LD 1\x01\n",
        "LD 1\x0b\n",  # a vertical tab breaks lines for str.splitlines
        "# nothing\n\n",
        "LD \u00b9\n",  # non-ASCII
    ],
)
def test_unusual_text_goes_to_the_line_parser(text: str, tmp_path: Path, reader) -> None:  # type: ignore[no-untyped-def]
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


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("LD 0xZZ", "address '0xZZ' is not a decimal or 0x-hex integer"),
        ("LD", "expected 'LD|ST <addr> [<bytes>]'"),
        ("LD 0x40 0", "size must be from 1 to"),
        ("LD -64", "is negative"),
        ("5 R 0x40", "mixes timed and untimed"),
    ],
)
@pytest.mark.parametrize("pure", [True, False])
def test_a_malformed_line_is_named_with_its_number(
    bad_line: str, message: str, pure: bool, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    good = [f"LD {32 * k:#x}" for k in range(5000)]
    lines = ["# header", *good[:3000], "", bad_line, *good[3000:]]
    path = tmp_path / "t.trace"
    path.write_text("\n".join(lines) + "\n")
    if pure:
        monkeypatch.setenv("NPUSIM_PURE_PYTHON", "1")
    else:
        monkeypatch.delenv("NPUSIM_PURE_PYTHON", raising=False)
    with pytest.raises(TraceError, match=f"^{re.escape(str(path))}:3003: .*{re.escape(message)}"):
        read_trace(path)


def test_a_large_trace_is_read_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "CHUNK_BYTES", 64)  # many chunks, cut at line ends
    rng = np.random.default_rng(3)
    addr = rng.integers(0, 1 << 40, 500)
    text = "".join(
        f"{k} {'W' if a % 3 == 0 else 'R'} {a:#x} 64{'  # note' if k % 7 == 0 else ''}\n"
        + ("\n\n\n# a comment line longer than a chunk of sixty-four bytes ...\n" if k % 50 else "")
        for k, a in enumerate(addr)
    )
    parsed = parse_text_bytes(text.encode())
    assert parsed is not None and _same(parsed, parse_trace(text.splitlines()))
    late = text + "3 R 0x0\n"  # decreases across the last chunk boundary
    assert parse_text_bytes(late.encode()) is None
    mixed = text + "LD 0x0\n"  # the untimed form in the last chunk only
    assert parse_text_bytes(mixed.encode()) is None


@pytest.mark.skipif(not COMPILED, reason="the compiled extension was not built")
def test_the_compiled_reader_takes_sixteen_digit_hex_and_declines_values_past_the_limit() -> None:
    """`0x%016x` (a common layout) is read by the compiled reader itself, not left to the
    slower numpy reader; a 16-digit value above MAX_VALUE is declined (the line parser then
    names it)."""
    text = "LD 0x0000000000000040\nST 0x0000ffffffffffff 64\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NPUSIM_PURE_PYTHON", raising=False)
        fast = _parse_compiled(text.encode())
        too_big = _parse_compiled(b"LD 0x0001000000000000\n")
    assert fast is not None and fast.addr.tolist() == [0x40, MAX_VALUE]
    assert too_big is None


@pytest.mark.skipif(not COMPILED, reason="the compiled extension was not built")
@pytest.mark.parametrize("comment", [b"# a\rST 0x20", b"# a\x0cST 0x20", b"# caf\xc3\xa9"])
def test_the_compiled_reader_leaves_unusual_comments_to_the_others(comment: bytes) -> None:
    """A CR or form feed inside a comment is a line break to the other readers, and a
    non-ASCII byte a question of encoding: the compiled reader declines such a file rather
    than read it differently (it used to skip the rest of the line)."""
    data = b"LD 0x10 " + comment + b"\nLD 0x40\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NPUSIM_PURE_PYTHON", raising=False)
        assert _parse_compiled(data) is None
        assert _parse_compiled(b"LD 0x10 # plain\ttext\nLD 0x40\n") is not None
