/* The plain trace format's compiled reader: parse_trace of the _kernel module (methods table in
 * _kernel.c), an optional fast path of npusim/trace.py. Compiled into the same extension; it
 * shares nothing with the controller loop but the module. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_trace_reader.h"

typedef int64_t i64;

/* Accepts a strict, common subset: ASCII lines split by "\n" (or "\r\n"), fields split by
 * spaces or tabs, "#" comments, blank lines; "LD|ST <addr> [<bytes>]" or
 * "<cycle> <R|W|LD|ST> <addr> [<bytes>]" (operations in any case), numbers as 1-15 decimal
 * digits or "0x" and 1-16 hex digits, at most MAX_VALUE (2^48 - 1). Anything else returns
 * None and the caller falls back to the numpy reader or the line parser, which report errors
 * with their line. Limits mirror npusim.trace: MAX_VALUE, MAX_REQUEST_BYTES.
 * The columns are bytearrays sized for every line at the start (a line holds at most one
 * request), which numpy then views without a copy: growing and copying them, digit by digit
 * branches and the copies on the Python side took about half of the reader's time. */
#define TRACE_MAX_VALUE (((i64)1 << 48) - 1)
#define TRACE_MAX_REQUEST_BYTES ((i64)1 << 30)
#define NOT_DIGIT 0xFF

/* HEX_DIGIT[c]: the value of the hex digit c (either case), NOT_DIGIT for another byte. */
static unsigned char HEX_DIGIT[256];

void npusim_trace_reader_init(void) {
    memset(HEX_DIGIT, NOT_DIGIT, sizeof(HEX_DIGIT));
    for (int k = 0; k < 10; k++) HEX_DIGIT['0' + k] = (unsigned char)k;
    for (int k = 0; k < 6; k++) HEX_DIGIT['a' + k] = HEX_DIGIT['A' + k] = (unsigned char)(10 + k);
}

/* Parse one number token [p, e); -1 if it is not a plain number of at most MAX_VALUE. */
static i64 trace_number(const unsigned char *p, const unsigned char *e) {
    uint64_t v = 0; /* 16 hex digits (0x%016x, a common layout) fit without overflow */
    if (e - p > 2 && p[0] == '0' && (p[1] | 32) == 'x') {
        p += 2;
        if (e - p > 16) return -1;
        for (; p < e; p++) {
            const unsigned d = HEX_DIGIT[*p];
            if (d == NOT_DIGIT) return -1;
            v = v << 4 | d;
        }
    } else {
        if (e - p < 1 || e - p > 15) return -1;
        for (; p < e; p++) {
            const unsigned d = (unsigned)*p - '0';
            if (d > 9) return -1;
            v = v * 10 + d;
        }
    }
    return v > (uint64_t)TRACE_MAX_VALUE ? -1 : (i64)v;
}

/* The reader's output: a bytearray per column, `cap` entries each (size and cycle allocated
   at their first use: a trace without sizes leaves that column to the caller's zeros). */
typedef struct {
    PyObject *addr, *write, *size, *cycle;
    Py_ssize_t len, cap;
} Columns;

static PyObject *new_column(Py_ssize_t entries, size_t item) {
    return PyByteArray_FromStringAndSize(NULL, entries * (Py_ssize_t)item);
}

static void drop_columns(Columns *c) {
    Py_CLEAR(c->addr);
    Py_CLEAR(c->write);
    Py_CLEAR(c->size);
    Py_CLEAR(c->cycle);
}

/* One line's tokens: at most 5 (more: not this format); ok 0 for a byte other readers must
   judge (another control or non-ASCII byte, also in a comment). */
typedef struct {
    const unsigned char *start[5], *end[5];
    int count, ok;
} Tokens;

static void split_line(const unsigned char *c, const unsigned char *q, Tokens *t) {
    t->count = 0;
    t->ok = 1;
    while (c < q) {
        if (*c == ' ' || *c == '\t') {
            c++;
            continue;
        }
        if (*c == '#') {
            /* a comment: plain text only (a CR, form feed or non-ASCII byte in it is a
               line break or an encoding question the other readers settle) */
            for (; c < q; c++)
                if ((*c < 32 && *c != '\t') || *c > 126) t->ok = 0;
            return;
        }
        if (*c < 33 || *c > 126 || t->count == 5) {
            t->ok = 0; /* other whitespace, control or non-ASCII bytes; too many fields */
            return;
        }
        t->start[t->count] = c;
        while (c < q && *c > 32 && *c < 127 && *c != '#') c++;
        t->end[t->count++] = c;
    }
}

/* is_write of an operation token (LD/ST, R/W, any case), -1 for another token. */
static int trace_op(const unsigned char *o, const unsigned char *e) {
    if (e - o == 2 && (o[0] | 32) == 'l' && (o[1] | 32) == 'd') return 0;
    if (e - o == 2 && (o[0] | 32) == 's' && (o[1] | 32) == 't') return 1;
    if (e - o == 1 && (o[0] | 32) == 'r') return 0;
    if (e - o == 1 && (o[0] | 32) == 'w') return 1;
    return -1;
}

/* Append the request of a line's tokens; 0 when the line is not this format (or timed
   differently from the first), -1 when out of memory. */
static int add_request(Columns *c, const Tokens *t, int *timed) {
    const int is_timed = t->start[0][0] >= '0' && t->start[0][0] <= '9';
    if (*timed < 0) {
        *timed = is_timed;
        if (is_timed && !(c->cycle = new_column(c->cap, sizeof(i64)))) return -1;
    }
    const int base = is_timed ? 1 : 0, fields = t->count - base;
    if (is_timed != *timed || fields < 2 || fields > 3) return 0;
    const int store = trace_op(t->start[base], t->end[base]);
    const i64 a = trace_number(t->start[base + 1], t->end[base + 1]);
    const i64 b = fields == 3 ? trace_number(t->start[base + 2], t->end[base + 2]) : 0;
    if (store < 0 || a < 0 || (fields == 3 && (b < 1 || b > TRACE_MAX_REQUEST_BYTES))) return 0;
    const Py_ssize_t k = c->len;
    if (is_timed) {
        i64 *cycles = (i64 *)PyByteArray_AS_STRING(c->cycle);
        const i64 cycle = trace_number(t->start[0], t->end[0]);
        if (cycle < 0 || (k && cycle < cycles[k - 1])) return 0;
        cycles[k] = cycle;
    }
    if (b && !c->size) { /* the first size: the column so far is zeros */
        if (!(c->size = new_column(c->cap, sizeof(i64)))) return -1;
        memset(PyByteArray_AS_STRING(c->size), 0, (size_t)k * sizeof(i64));
    }
    if (c->size) ((i64 *)PyByteArray_AS_STRING(c->size))[k] = b;
    ((i64 *)PyByteArray_AS_STRING(c->addr))[k] = a;
    PyByteArray_AS_STRING(c->write)[k] = (char)store;
    c->len = k + 1;
    return 1;
}

/* Cut each column to the requests read; the tuple of them (size, cycle: None when absent). */
static PyObject *trace_columns(Columns *c) {
    PyObject *columns[4] = {c->addr, c->write, c->size, c->cycle};
    const size_t item[4] = {sizeof(i64), 1, sizeof(i64), sizeof(i64)};
    for (int k = 0; k < 4; k++)
        if (columns[k] && PyByteArray_Resize(columns[k], c->len * (Py_ssize_t)item[k]) < 0)
            return NULL;
    return Py_BuildValue("(OOOO)", c->addr, c->write, c->size ? c->size : Py_None,
                         c->cycle ? c->cycle : Py_None);
}

PyObject *npusim_parse_trace(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    Columns c = {NULL, NULL, NULL, NULL, 0, 1};
    for (const unsigned char *k = p; (k = memchr(k, '\n', (size_t)(end - k))) != NULL; k++)
        c.cap++;
    int timed = -1, ok = 1;
    PyObject *result = NULL;
    c.addr = new_column(c.cap, sizeof(i64));
    c.write = new_column(c.cap, 1);
    if (!c.addr || !c.write) goto done;
    while (p < end && ok) {
        const unsigned char *line_end = memchr(p, '\n', (size_t)(end - p));
        if (!line_end) line_end = end;
        const unsigned char *q = line_end;
        if (q > p && q[-1] == '\r') q--; /* CRLF */
        Tokens t;
        split_line(p, q, &t);
        p = line_end + 1;
        ok = t.ok;
        if (ok && t.count) {
            const int added = add_request(&c, &t, &timed);
            if (added < 0) goto done;
            ok = added;
        }
    }
    if (!ok || c.len == 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = trace_columns(&c);
    }
done:
    drop_columns(&c);
    PyBuffer_Release(&view);
    return result;
}
