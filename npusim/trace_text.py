"""Vectorized reader of text traces: numpy over the file's bytes, no Python loop per line.

:func:`parse_text_bytes` returns the same :class:`~npusim.trace.Trace` as the line parser
(:func:`npusim.trace.parse_trace`) for every file it accepts, and ``None`` for anything
unusual (a byte outside printable ASCII and tab/CR/LF, a lone CR, ``_`` or ``+`` in a number,
more than 16 digits, a value out of range, a malformed line, ...), which the caller then gives
to the line parser: it accepts what Python's ``int`` accepts and names the bad line.

How: the file is cut into chunks of about ``CHUNK_BYTES`` of whole lines; in each, ``#``
comments are blanked, tokens are found from the whitespace bytes (one pass when every token
is followed by exactly one space, tab or newline, the layout programs write; a general pass
otherwise) and each number column is converted with SWAR arithmetic on uint64 words: the 8
bytes ending at a token are read as one little-endian word (an unaligned view of the buffer),
checked to be digits and folded into a value in a few whole-array operations, independent of
the number of digits. Integer arithmetic only: no BLAS call (a float matmul here once took a
second core's worth of CPU time on two-core machines).
"""

from __future__ import annotations

import numpy as np

from npusim.trace import MAX_REQUEST_BYTES, MAX_VALUE, Trace

CHUNK_BYTES = 1 << 19  # whole lines of about 512 KiB at a time: the arrays stay in cache
MAX_DIGITS = 16  # two 8-byte words; longer numbers (leading zeros) go to the line parser
_PAD_BYTES = 16  # spaces before the data, so that the two words before any token exist
_ALLOWED = bytes([9, 10, 13, *range(32, 127)])  # tab, LF, CR and printable ASCII
_U64 = np.uint64
_HIGH_BITS = _U64(0x8080808080808080)
_LOW_NIBBLES = _U64(0x0F0F0F0F0F0F0F0F)
_ONES = _U64(0x0101010101010101)
# _KEEP[k]: the k last bytes of a little-endian word (the k digits nearest the token's end).
_KEEP = np.array([0] + [((1 << 64) - 1) << (8 * (8 - k)) & ((1 << 64) - 1) for k in range(1, 9)],
                 dtype=np.uint64)  # fmt: skip


def parse_text_bytes(data: bytes) -> Trace | None:
    """The trace in ``data`` (a text trace file's bytes), or None to leave it to the line
    parser. Arrays as :class:`~npusim.trace.Trace` documents them."""
    if not data or data.translate(None, _ALLOWED):
        return None  # empty, or a byte the line parser treats otherwise (or not UTF-8 text)
    # Spaces before the data and after it (so that the words around every token exist), a
    # newline ending the last line (the line parser ignores a final newline either way).
    end_data = _PAD_BYTES + len(data) + 1
    whole = np.full(end_data + _PAD_BYTES, 32, dtype=np.uint8)
    whole[_PAD_BYTES : end_data - 1] = np.frombuffer(data, dtype=np.uint8)
    whole[end_data - 1] = 10
    if data.endswith(b"\n"):
        end_data -= 1
    words = np.ndarray((whole.size - 7,), dtype="<u8", buffer=whole, strides=(1,))
    parts = []
    begin = _PAD_BYTES
    while begin < end_data:
        stop = data.find(b"\n", begin - _PAD_BYTES + CHUNK_BYTES)
        stop = end_data if stop < 0 else stop + 1 + _PAD_BYTES
        chunk = whole[begin:stop]
        text_range = (begin - _PAD_BYTES, stop - _PAD_BYTES)  # the chunk's bytes in data
        if data.find(b"\r", *text_range) >= 0 and np.any(
            chunk[np.flatnonzero(chunk == 13) + 1] != 10
        ):
            return None  # a lone CR also breaks lines for the line parser
        if data.find(b"#", *text_range) >= 0:
            _blank_comments(chunk)
        if np.any(chunk > 32):  # a chunk of blank lines adds nothing
            part = _parse_chunk(chunk, words, begin)
            if part is None:
                return None
            parts.append(part)
        begin = stop
    return _join(parts)


def _join(parts: list[tuple]) -> Trace | None:
    if not parts or len({part[4] for part in parts}) > 1:
        return None  # no request, or timed and untimed chunks
    cycles = None
    if parts[0][4]:
        cycles = np.concatenate([part[3] for part in parts])
        if np.any(cycles[1:] < cycles[:-1]):
            return None
    return Trace(
        np.concatenate([part[0] for part in parts]),
        np.concatenate([part[1] for part in parts]),
        np.concatenate([part[2] for part in parts]),
        cycles,
    )


def _blank_comments(buf: np.ndarray) -> None:
    """Overwrite with spaces, in place, every byte from a line's first ``#`` to its end (the
    chunk ``buf`` ends with a newline)."""
    hashes = np.flatnonzero(buf == 35)
    newlines = np.flatnonzero(buf == 10)
    ends = newlines[np.searchsorted(newlines, hashes)]
    first = np.concatenate(([True], ends[1:] != ends[:-1]))  # the first '#' of each line
    hashes, ends = hashes[first], ends[first]
    lengths = ends - hashes
    blank = np.arange(int(lengths.sum()), dtype=np.int64)
    blank += np.repeat(hashes - (np.cumsum(lengths) - lengths), lengths)
    buf[blank] = 32


def _parse_chunk(buf: np.ndarray, words: np.ndarray, offset: int) -> tuple | None:
    """(addr uint64, is_write bool, size int64, cycle int64 or None, timed) of the lines in
    ``buf`` (whole lines starting at ``offset`` of the buffer ``words`` views), or None."""
    tokens = _plain_tokens(buf)
    if tokens is None:
        tokens = _tokens(buf)
    if tokens is None:
        return None
    start, end, first = tokens
    count = np.diff(np.append(first, start.size))
    lead = buf[start[first]]
    numbered = (lead >= 48) & (lead <= 57)  # a line starting with a digit is timed
    timed = bool(numbered[0])
    if not (np.all(numbered) if timed else not np.any(numbered)):
        return None
    fields = count - 1 if timed else count
    if np.any((fields < 2) | (fields > 3)):
        return None
    start, end = start + offset, end + offset  # positions in the whole buffer from here
    column = _Columns(start, end, first, int(count[0]) if np.all(count == count[0]) else 0)
    skip = 1 if timed else 0
    op_start, op_end = column(skip)
    is_write = _ops(words, op_start, op_end - op_start)
    if is_write is None:
        return None
    addr = _numbers(words, *column(skip + 1))
    if addr is None:
        return None
    size = np.zeros(first.size, dtype=np.int64)
    sized = np.flatnonzero(fields == 3)
    if sized.size:
        sizes = _numbers(words, *column(skip + 2, None if sized.size == first.size else sized))
        if sizes is None or np.any((sizes < 1) | (sizes > MAX_REQUEST_BYTES)):
            return None
        size[sized] = sizes
    cycles = None
    if timed:
        cycles = _numbers(words, *column(0))
        if cycles is None:
            return None
        cycles = cycles.astype(np.int64)
    return addr, is_write, size, cycles, timed


class _Columns:
    """(starts, ends) of the ``j``-th token of every line (or of the lines ``rows``): strided
    views when every line has ``per_line`` tokens, else gathered through ``first``."""

    def __init__(
        self, start: np.ndarray, end: np.ndarray, first: np.ndarray, per_line: int
    ) -> None:
        self.start, self.end, self.first, self.per_line = start, end, first, per_line

    def __call__(self, j: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if rows is None and self.per_line:
            return self.start[j :: self.per_line], self.end[j :: self.per_line]
        index = (self.first if rows is None else self.first[rows]) + j
        return self.start[index], self.end[index]


def _ops(words: np.ndarray, op_start: np.ndarray, op_length: np.ndarray) -> np.ndarray | None:
    """is_write of each operation token (LD/ST or R/W, any case), or None if one is not."""
    pair = (words[op_start] & _U64(0xDFDF)).astype(np.uint16)  # first two bytes, upper case
    two, one = op_length == 2, op_length == 1
    store = (two & (pair == 0x5453)) | (one & ((pair & 0xFF) == 0x57))  # "ST", "W"
    load = (two & (pair == 0x444C)) | (one & ((pair & 0xFF) == 0x52))  # "LD", "R"
    return store if np.all(store | load) else None


def _plain_tokens(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(token starts, token ends, index of each line's first token) when every token is
    followed by exactly one space, tab or newline (the layout programs write), else None."""
    separator = np.flatnonzero(buf <= 32)  # only tab, LF, CR and space are left below 33
    if buf[0] <= 32 or separator.size == 0 or separator[-1] != buf.size - 1:
        return None
    if np.any(separator[1:] - separator[:-1] == 1):
        return None  # two whitespace bytes in a row: blank lines, CRLF, alignment, ...
    newline = buf[separator] == 10  # the others are spaces or tabs (a lone CR was refused)
    start = np.empty_like(separator)
    start[0] = 0
    start[1:] = separator[:-1] + 1
    first = np.flatnonzero(np.concatenate(([True], newline[:-1])))
    return start, separator, first


def _tokens(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(token starts, token ends, index of each line's first token), any whitespace."""
    space = buf <= 32
    change = np.flatnonzero(space[1:] != space[:-1]) + 1
    if not space[0]:
        change = np.concatenate(([0], change))
    if not space[-1]:
        change = np.append(change, buf.size)
    start, end = change[0::2], change[1::2]  # transitions alternate: token start, token end
    if start.size == 0:
        return None
    # A token starts a line when a newline lies in the gap before it: the gap's last or (CRLF,
    # a trailing blank) second-last byte when all gaps are that short; else the first token
    # after each newline.
    gap = start[1:] - end[:-1]
    if gap.size == 0 or gap.max() <= 2:
        before = buf[start[1:] - 1] == 10
        before |= (gap == 2) & (buf[start[1:] - 2] == 10)
        first = np.flatnonzero(np.concatenate(([True], before)))
    else:
        starts_line = np.zeros(start.size + 1, dtype=bool)
        starts_line[0] = True
        starts_line[np.searchsorted(start, np.flatnonzero(buf == 10))] = True
        first = np.flatnonzero(starts_line[:-1])
    return start, end, first


def _numbers(words: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """uint64 values of the tokens at ``[start, end)`` (positions in the buffer ``words``
    views: ``words[p]`` holds bytes ``p .. p + 7``), decimal or hex after ``0x``/``0X``; None
    if one is not a plain number of 1 to 16 digits and at most ``MAX_VALUE``."""
    head = words[start]  # the token's first bytes, little-endian: byte 0 is the first
    hexa = ((head & _U64(0xFFFF)) | _U64(0x2000)) == _U64(0x7830)  # "0x" or "0X"
    hexa &= end - start > 2
    digits = end - np.where(hexa, start + 2, start)
    if digits.size == 0 or digits.max() > MAX_DIGITS:
        return None
    hex_count = int(np.count_nonzero(hexa))
    if hex_count == 0:
        return _fold(words, end, digits, base=10)
    if hex_count == start.size:
        return _fold(words, end, digits, base=16)
    value = np.empty(start.size, dtype=np.uint64)
    for base, chosen in ((16, hexa), (10, ~hexa)):
        part = _fold(words, end[chosen], digits[chosen], base)
        if part is None:
            return None
        value[chosen] = part
    return value


def _fold(words: np.ndarray, end: np.ndarray, digits: np.ndarray, base: int) -> np.ndarray | None:
    """Values of the ``digits`` (1..16: a token has a byte, a hex one a digit after ``0x``)
    digits of ``base`` (10 or 16) ending at each ``end``;
    None if a byte there is not such a digit or a value exceeds ``MAX_VALUE``."""
    value = _fold_word(words[end - 8], np.minimum(digits, 8), base)
    if value is None:
        return None
    if digits.max() > 8:
        high = _fold_word(words[np.maximum(end - 16, 0)], np.clip(digits - 8, 0, 8), base)
        if high is None:
            return None
        high *= _U64(16**8 if base == 16 else 10**8)
        value += high
    return None if value.max() > MAX_VALUE else value


def _fold_word(word: np.ndarray, kept: np.ndarray, base: int) -> np.ndarray | None:
    """Values of the ``kept`` (0..8) last bytes of each little-endian ``word`` (a new array,
    overwritten here) as digits of ``base``; None if one of those bytes is not a digit.

    Every byte is ASCII (< 0x80), so adding ``0x80 - c`` to each byte sets its high bit
    exactly when the byte is >= ``c``, with no carry into the next byte. Operations write in
    place: each whole-array pass costs memory traffic, not a new array."""
    keep = _KEEP[kept]
    scratch = np.add(word, _ONES * _U64(0x80 - 58))  # >= ':'
    invalid = np.add(word, _ONES * _U64(0x80 - 48))  # >= '0'
    invalid ^= _HIGH_BITS  # < '0'
    invalid |= scratch  # (< '0' or >= ':') in the high bits, other bits garbage
    if base == 16:
        np.bitwise_or(word, _U64(0x2020202020202020), out=scratch)  # lower case
        letter = np.add(scratch, _ONES * _U64(0x80 - 97))  # >= 'a'
        scratch += _ONES * _U64(0x80 - 103)  # >= 'g'
        np.bitwise_and(letter, ~scratch, out=letter)
        letter &= _HIGH_BITS  # a-f
        np.bitwise_and(invalid, ~letter, out=invalid)
    invalid &= keep
    invalid &= _HIGH_BITS
    if invalid.any():
        return None
    word &= _LOW_NIBBLES  # '0'-'9' -> 0-9, 'a'/'A' -> 1, ...
    if base == 16:
        letter >>= _U64(7)
        letter *= _U64(9)
        word += letter
    word &= keep
    # Fold neighbours: bytes (a, b) -> a * base + b, then 16-bit lanes, then 32-bit lanes.
    if base == 16:
        for bits, lanes in ((4, 0x00FF00FF00FF00FF), (8, 0x0000FFFF0000FFFF), (16, 0xFFFFFFFF)):
            np.right_shift(word, _U64(2 * bits), out=scratch)
            word <<= _U64(bits)
            word |= scratch
            word &= _U64(lanes)
        return word
    for factor, bits, lanes in ((10, 8, 0x00FF00FF00FF00FF), (100, 16, 0x0000FFFF0000FFFF),
                                (10000, 32, 0xFFFFFFFF)):  # fmt: skip
        np.right_shift(word, _U64(bits), out=scratch)
        word *= _U64(factor)
        word += scratch
        word &= _U64(lanes)
    return word
