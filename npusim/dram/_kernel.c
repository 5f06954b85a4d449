/* Compiled twin of ChannelController.run's general loop (npusim/dram/controller.py), and a
 * compiled reader of the plain trace format (parse_trace, used by npusim/trace.py; see its
 * section at the end).
 *
 * Optional: the package works without it, and NPUSIM_PURE_PYTHON=1 switches it off. It makes
 * exactly the decisions of the Python loop (tests compare command logs, completions and
 * statistics on random traces under every policy), so the Python code stays the readable
 * reference and this file only buys speed. Every bank's candidate is recomputed at every
 * decision: with at most 64 banks that is cheaper here than the Python loop's caching.
 *
 * State lives in int64 buffers the caller fills from, and copies back to, the Python objects
 * (CompiledLoop in npusim/dram/kernel.py; it documents the layout of cfg, upd and scal). The
 * loop checks for signals every SIGNAL_CHECK_DECISIONS decisions, so Ctrl-C stops it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int64_t i64;

enum { ACT, PRE, PREA, RD, WR, RDA, WRA, REFAB, REFPB, ACT2, CAS, NCMD };
static const int READY_SLOT[NCMD] = {0, 1, 2, 3, 4, 3, 4, 7, 8, 9, 10};
enum { HIT, MISS, CONFLICT };
enum { SCHED_FCFS, SCHED_FRFCFS, SCHED_FRFCFS_ROWHIT };
enum { REFRESH_OFF, REFRESH_ALL_BANK, REFRESH_PER_BANK };
enum { SCOPE_BANK, SCOPE_GROUP, SCOPE_CHANNEL };
#define INF ((i64)1 << 62)
#define MAXU 8     /* update entries per (scope, command), slot -1 ends a list */
#define MAXBANKS 64
#define MAXDEPTH 4096 /* npusim.dram.params.MAX_QUEUE_DEPTH */
#define SIGNAL_CHECK_DECISIONS (1 << 16)

/* cfg */
enum {
    C_BANKS, C_GROUPS, C_SCHED, C_CLOSED, C_REFRESH, C_RDEPTH, C_WDEPTH, C_HIGH, C_LOW,
    C_READ_DONE, C_WRITE_DONE, C_NREFI, C_NREFIPB, C_NRFCAB, C_NRFCPB, C_NFAW, C_REFPB_SETS,
    C_LOG, C_RELEASE_AT_ACT, C_NEED_SYNC, C_NCAS, C_WCK_READ, C_WCK_WRITE, C_NAAD, C_LEN
};
/* scal */
enum {
    S_NOW, S_WRITE_MODE, S_REF_DUE, S_REF_PENDING, S_REF_BANK, S_REF_CYCLES, S_FAW_INDEX,
    S_OPEN_BANKS, S_ACTIVE_SINCE, S_ACTIVE_CYCLES, S_QUEUE_CYCLES, S_WCK_EXPIRY,
    S_WRITE_DRAINS, S_OUTCOME,
    S_COUNTS = S_OUTCOME + 3, S_LEN = S_COUNTS + NCMD
};

typedef struct {
    i64 *data;
    Py_ssize_t len, cap;
} Log;

static int log_push(Log *log, i64 t, i64 cmd, i64 bank, i64 row) {
    if (log->len + 4 > log->cap) {
        Py_ssize_t cap = log->cap ? 2 * log->cap : 4096;
        i64 *data = realloc(log->data, (size_t)cap * sizeof(i64));
        if (!data) return -1;
        log->data = data;
        log->cap = cap;
    }
    log->data[log->len++] = t;
    log->data[log->len++] = cmd;
    log->data[log->len++] = bank;
    log->data[log->len++] = row;
    return 0;
}

typedef struct {
    i64 nb, ng, sets, nfaw;
    const i64 *upd;
    i64 *bank_ready, *group_ready, *ch, *faw, *open_row, *scal;
} Dev;

static inline i64 max64(i64 a, i64 b) { return a > b ? a : b; }

static inline void raise_to(i64 *ready, i64 value) {
    if (*ready < value) *ready = value;
}

/* Timing updates of a command at cycle t: Device.issue's three loops. */
static void apply_updates(Dev *d, int cmd, i64 bank, i64 t) {
    const i64 *u = d->upd + ((SCOPE_BANK * NCMD + cmd) * MAXU) * 2;
    for (int k = 0; k < MAXU && u[2 * k] >= 0; k++) {
        i64 *ready = d->bank_ready + u[2 * k] * d->nb;
        if (cmd == REFPB) {
            for (i64 b = bank % d->sets; b < d->nb; b += d->sets)
                raise_to(ready + b, t + u[2 * k + 1]);
        } else {
            raise_to(ready + bank, t + u[2 * k + 1]);
        }
    }
    u = d->upd + ((SCOPE_GROUP * NCMD + cmd) * MAXU) * 2;
    for (int k = 0; k < MAXU && u[2 * k] >= 0; k++)
        raise_to(d->group_ready + u[2 * k] * d->ng + bank % d->ng, t + u[2 * k + 1]);
    u = d->upd + ((SCOPE_CHANNEL * NCMD + cmd) * MAXU) * 2;
    for (int k = 0; k < MAXU && u[2 * k] >= 0; k++) raise_to(d->ch + u[2 * k], t + u[2 * k + 1]);
}

/* Bank-state bookkeeping after a command (Device.issue's tail). */
static void close_or_open(Dev *d, int cmd, i64 bank, i64 row, i64 t) {
    i64 *s = d->scal, closing;
    if (cmd == ACT) {
        d->faw[s[S_FAW_INDEX]] = t;
        s[S_FAW_INDEX] = (s[S_FAW_INDEX] + 1) & 3;
        d->open_row[bank] = row;
        if (s[S_OPEN_BANKS] == 0) s[S_ACTIVE_SINCE] = t;
        s[S_OPEN_BANKS] += 1;
        return;
    }
    if (cmd == PREA) {
        closing = s[S_OPEN_BANKS];
        for (i64 b = 0; b < d->nb; b++) d->open_row[b] = -1;
    } else if (cmd == PRE || cmd == RDA || cmd == WRA) {
        closing = 1;
        d->open_row[bank] = -1;
    } else {
        return;
    }
    if (closing && s[S_OPEN_BANKS] == closing) s[S_ACTIVE_CYCLES] += t - s[S_ACTIVE_SINCE];
    s[S_OPEN_BANKS] -= closing;
}

/* The channel idles (nothing queued or held, every bank closed) until `until` with its last
   refresh issued on time: all but the last of the periodic refreshes falling due before
   then are issued in closed form, the last of each bank set for real (the only timing
   effects that can still matter); the final one is left to the loop. Returns the cycle of
   the last one issued here (`rt` when none). Mirrors ChannelController._skip_idle_refreshes. */
static i64 skip_idle_refreshes(Dev *d, const i64 *cfg, int cmd, i64 until, i64 *ref_due,
                               i64 rt) {
    i64 *s = d->scal;
    const int per_bank = cmd == REFPB;
    const i64 interval = per_bank ? cfg[C_NREFIPB] : cfg[C_NREFI];
    const i64 refresh_ck = per_bank ? cfg[C_NRFCPB] : cfg[C_NRFCAB];
    const i64 sets = per_bank ? d->sets : 1;
    const i64 skip = (until - *ref_due) / interval;
    if (until < *ref_due || skip < 1) return rt;
    const i64 counted = skip - (skip < sets ? skip : sets);
    s[S_COUNTS + cmd] += counted;
    s[S_REF_CYCLES] += counted * refresh_ck;
    *ref_due += counted * interval;
    if (per_bank) s[S_REF_BANK] = (s[S_REF_BANK] + counted) % sets;
    for (i64 j = counted; j < skip; j++) {
        const i64 bank = per_bank ? s[S_REF_BANK] : 0;
        rt = *ref_due;
        apply_updates(d, cmd, bank, rt);
        s[S_COUNTS + cmd] += 1;
        close_or_open(d, cmd, bank, -1, rt);
        *ref_due += interval;
        s[S_REF_CYCLES] += refresh_ck;
        if (per_bank) s[S_REF_BANK] = (bank + 1) % sets;
    }
    return rt;
}

/* Device.earliest (state legality not checked). */
static i64 earliest(Dev *d, int cmd, i64 bank) {
    int slot = READY_SLOT[cmd];
    i64 t = d->ch[slot];
    if (cmd == PREA) {
        for (i64 b = 0; b < d->nb; b++)
            if (d->open_row[b] >= 0) t = max64(t, d->bank_ready[PRE * d->nb + b]);
        return t;
    }
    if (cmd == REFAB) return t;
    if (cmd == REFPB) {
        for (i64 b = bank % d->sets; b < d->nb; b += d->sets)
            t = max64(t, d->bank_ready[slot * d->nb + b]);
    } else {
        t = max64(t, d->bank_ready[slot * d->nb + bank]);
    }
    t = max64(t, d->group_ready[slot * d->ng + bank % d->ng]);
    if (cmd == ACT) t = max64(t, d->faw[d->scal[S_FAW_INDEX]] + d->nfaw);
    return t;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t count, int writable,
                      const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    const char *format = view->format ? view->format : "B";
    const char code = format[strlen(format) - 1]; /* "l", "q", "<q", ... */
    if (view->itemsize != 8 || (code != 'l' && code != 'q') || view->len != count * 8) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd int64 values", name, count);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

enum { B_BANK, B_ROW, B_WRITE, B_ARRIVAL, B_DONE, B_ENQUEUED, B_CFG, B_UPD, B_BANK_READY,
       B_GROUP_READY, B_CH, B_FAW, B_OPEN_ROW, B_SCAL, NBUF };

static PyObject *run(PyObject *self, PyObject *args) {
    PyObject *obj[NBUF];
    Py_buffer view[NBUF];
    int got = 0;
    PyObject *result = NULL;
    i64 *rq = NULL, *wq = NULL;
    char *classified = NULL;
    Log log = {NULL, 0, 0};
    (void)self;
    if (!PyArg_UnpackTuple(args, "run", NBUF, NBUF, &obj[0], &obj[1], &obj[2], &obj[3], &obj[4],
                           &obj[5], &obj[6], &obj[7], &obj[8], &obj[9], &obj[10], &obj[11],
                           &obj[12], &obj[13]))
        return NULL;

    /* Sizes: requests from the bank array, the rest from cfg. */
    Py_ssize_t n;
    {
        Py_buffer probe;
        if (PyObject_GetBuffer(obj[B_BANK], &probe, PyBUF_C_CONTIGUOUS) < 0) return NULL;
        n = probe.len / 8;
        PyBuffer_Release(&probe);
    }
    Py_buffer cfg_view;
    if (get_buffer(obj[B_CFG], &cfg_view, C_LEN, 0, "cfg") < 0) return NULL;
    i64 cfg[C_LEN];
    memcpy(cfg, cfg_view.buf, sizeof(cfg));
    PyBuffer_Release(&cfg_view);
    const i64 nb = cfg[C_BANKS], ng = cfg[C_GROUPS];
    if (nb < 1 || nb > MAXBANKS || ng < 1 || cfg[C_REFPB_SETS] < 1) {
        PyErr_SetString(PyExc_ValueError, "cfg: bad bank organisation");
        return NULL;
    }
    const Py_ssize_t sizes[NBUF] = {n, n, n, n, n, n, C_LEN, 3 * NCMD * MAXU * 2, NCMD * nb,
                                    NCMD * ng, NCMD, 4, nb, S_LEN};
    const int writable[NBUF] = {0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1};
    static const char *names[NBUF] = {"bank", "row", "is_write", "arrival", "done", "enqueued",
                                      "cfg", "upd", "bank_ready", "group_ready", "channel_ready",
                                      "faw", "open_row", "scal"};
    for (; got < NBUF; got++)
        if (get_buffer(obj[got], &view[got], sizes[got], writable[got], names[got]) < 0) goto out;

    const i64 *bank_of = view[B_BANK].buf, *row_of = view[B_ROW].buf;
    const i64 *write_of = view[B_WRITE].buf, *arrival_of = view[B_ARRIVAL].buf;
    i64 *done = view[B_DONE].buf, *enqueued = view[B_ENQUEUED].buf;
    i64 *s = view[B_SCAL].buf;
    Dev d = {nb, ng, cfg[C_REFPB_SETS], cfg[C_NFAW], view[B_UPD].buf,
             view[B_BANK_READY].buf, view[B_GROUP_READY].buf, view[B_CH].buf, view[B_FAW].buf,
             view[B_OPEN_ROW].buf, s};
    for (Py_ssize_t i = 0; i < n; i++) {
        if (bank_of[i] < 0 || bank_of[i] >= nb || row_of[i] < 0) {
            PyErr_Format(PyExc_ValueError, "burst %zd: bank %lld or row %lld out of range", i,
                         (long long)bank_of[i], (long long)row_of[i]);
            goto out;
        }
    }
    /* The glue's state, checked where it becomes an index. */
    int state_ok = s[S_FAW_INDEX] >= 0 && s[S_FAW_INDEX] < 4 && s[S_REF_BANK] >= 0 &&
                   s[S_REF_BANK] < cfg[C_REFPB_SETS] && cfg[C_RDEPTH] >= 1 &&
                   cfg[C_RDEPTH] <= MAXDEPTH && cfg[C_WDEPTH] >= 1 && cfg[C_WDEPTH] <= MAXDEPTH &&
                   cfg[C_REFRESH] >= REFRESH_OFF && cfg[C_REFRESH] <= REFRESH_PER_BANK &&
                   cfg[C_SCHED] >= SCHED_FCFS && cfg[C_SCHED] <= SCHED_FRFCFS_ROWHIT &&
                   cfg[C_NCAS] >= 1;
    for (int k = 0; k < 3 * NCMD * MAXU; k++) {
        const i64 slot = ((const i64 *)view[B_UPD].buf)[2 * k];
        state_ok = state_ok && slot >= -1 && slot < NCMD;
    }
    if (!state_ok) {
        PyErr_SetString(PyExc_ValueError, "controller state out of range");
        goto out;
    }

    const i64 rdepth = cfg[C_RDEPTH], wdepth = cfg[C_WDEPTH];
    const i64 high = cfg[C_HIGH], low = cfg[C_LOW];
    const int sched = (int)cfg[C_SCHED], closed = (int)cfg[C_CLOSED];
    const int refresh = (int)cfg[C_REFRESH], logging = (int)cfg[C_LOG];
    const int release_at_act = (int)cfg[C_RELEASE_AT_ACT], need_sync = (int)cfg[C_NEED_SYNC];
    /* Per bank queues of request indices, in arrival order; a bank holds at most min(depth, n)
     * counted requests plus the one in its active slot (depth <= MAXDEPTH and nb <= MAXBANKS,
     * so the sizes cannot overflow). */
    const i64 rcap = (rdepth < n ? rdepth : n) + 1, wcap = (wdepth < n ? wdepth : n) + 1;
    rq = malloc(sizeof(i64) * (size_t)(nb * rcap));
    wq = malloc(sizeof(i64) * (size_t)(nb * wcap));
    classified = calloc((size_t)(n ? n : 1), 1); /* row outcome counted, per request */
    i64 rlen[MAXBANKS] = {0}, wlen[MAXBANKS] = {0};
    i64 pinned[MAXBANKS]; /* the request in each bank's active slot, -1 none */
    if (!rq || !wq || !classified) {
        PyErr_NoMemory();
        goto out;
    }
    for (i64 b = 0; b < nb; b++) pinned[b] = -1;

    i64 now = s[S_NOW], ref_due = s[S_REF_DUE], wck_expiry = s[S_WCK_EXPIRY];
    int write_mode = (int)s[S_WRITE_MODE], ref_pending = (int)s[S_REF_PENDING];
    i64 rcount = 0, wcount = 0, finished = 0, queue_cycles = 0, npinned = 0;
    i64 act2_bank = -1, act2_deadline = -1, act2_row = -1; /* the pending ACT-2 (at most one) */
    Py_ssize_t nxt = 0;
    long decisions = 0;
    while (finished < n) {
        if (++decisions % SIGNAL_CHECK_DECISIONS == 0 && PyErr_CheckSignals() < 0) goto out;
        /* Requests enter in order while their queue has room (backpressure). */
        while (nxt < n && arrival_of[nxt] <= now) {
            i64 b = bank_of[nxt];
            if (write_of[nxt]) {
                if (wcount >= wdepth) break;
                wq[b * wcap + wlen[b]++] = nxt;
                wcount++;
            } else {
                if (rcount >= rdepth) break;
                rq[b * rcap + rlen[b]++] = nxt;
                rcount++;
            }
            enqueued[nxt] = now;
            nxt++;
        }
        const i64 next_arrival = nxt < n ? arrival_of[nxt] : INF;
        if (write_mode) {
            if (wcount == 0 || (rcount && wcount <= low)) write_mode = 0;
        } else if (wcount >= high || (wcount && !rcount)) {
            write_mode = 1;
            s[S_WRITE_DRAINS] += 1;
        }
        i64 *queues = write_mode ? wq : rq, *qlen = write_mode ? wlen : rlen;
        const i64 depth = write_mode ? wcap : rcap; /* queue stride */
        const int col_slot = write_mode ? WR : RD;
        i64 floors[NCMD] = {0};
        floors[ACT] = max64(max64(d.ch[ACT], d.faw[s[S_FAW_INDEX]] + d.nfaw), now);
        floors[PRE] = max64(d.ch[PRE], now);
        floors[RD] = max64(d.ch[RD], now);
        floors[WR] = max64(d.ch[WR], now);
        if (act2_bank >= 0) floors[ACT] = INF; /* no ACT-1 while an ACT-2 is pending */
        /* Banks a pending refresh holds (their active slots excepted). */
        i64 blocked_lo = 0, blocked_step = 0;
        if (ref_pending) {
            if (refresh == REFRESH_ALL_BANK) {
                blocked_lo = 0;
                blocked_step = 1;
            } else {
                blocked_lo = s[S_REF_BANK] % d.sets;
                blocked_step = d.sets;
            }
        }
        /* The winner: least (cycle, tie) over every bank's candidate commands. A tie is the
         * request index in an active slot, n + the index otherwise. */
        i64 best_t = INF, best_tie = 0, best_bank = -1, best_pos = 0;
        int best_cmd = RD, best_col = 0;
#define CONSIDER(T, TIE, CMD, COL, POS)                                  \
    do {                                                                 \
        const i64 t_ = (T), tie_ = (TIE);                                \
        if (t_ < best_t || (t_ == best_t && tie_ < best_tie)) {          \
            best_t = t_;                                                 \
            best_tie = tie_;                                             \
            best_bank = b;                                               \
            best_cmd = (CMD);                                            \
            best_col = (COL);                                            \
            best_pos = (POS);                                            \
        }                                                                \
    } while (0)
        for (i64 b = 0; b < nb; b++) {
            const i64 p = pinned[b], len = qlen[b];
            const i64 g = b % ng;
            if (p >= 0) { /* the active slot's column command, nothing else */
                if (b == act2_bank) continue; /* it waits for its ACT-2 */
                const int slot = write_of[p] ? WR : RD;
                const i64 bound = max64(d.bank_ready[slot * nb + b], d.group_ready[slot * ng + g]);
                CONSIDER(max64(bound, floors[slot]), p, slot, 1, 0);
                continue;
            }
            if (!len) continue;
            if (blocked_step && b >= blocked_lo && (b - blocked_lo) % blocked_step == 0) continue;
            const i64 *q = queues + b * depth;
            const i64 orow = d.open_row[b];
            i64 pos = -1, pre_k = -1;
            if (orow < 0) {
                CONSIDER(max64(d.bank_ready[ACT * nb + b], floors[ACT]), n + q[0], ACT, 0, 0);
                continue;
            }
            if (row_of[q[0]] == orow) {
                pos = 0;
                if (sched == SCHED_FRFCFS) { /* the oldest request that does not hit */
                    for (i64 k = 1; k < len; k++) {
                        if (row_of[q[k]] != orow) {
                            pre_k = k;
                            break;
                        }
                    }
                }
            } else {
                pre_k = 0;
                if (sched != SCHED_FCFS) {
                    for (i64 k = 1; k < len; k++) {
                        if (row_of[q[k]] == orow) {
                            pos = k;
                            break;
                        }
                    }
                }
            }
            if (pos >= 0) {
                const i64 bound = max64(d.bank_ready[col_slot * nb + b],
                                        d.group_ready[col_slot * ng + g]);
                CONSIDER(max64(bound, floors[col_slot]), n + q[pos], col_slot, 1, pos);
            }
            if (pre_k >= 0)
                CONSIDER(max64(d.bank_ready[PRE * nb + b], floors[PRE]), n + q[pre_k], PRE, 0, 0);
        }
#undef CONSIDER
        if (act2_bank >= 0 &&
            (best_t > now || now >= act2_deadline ||
             (best_col && need_sync && best_t >= wck_expiry && act2_deadline <= now + cfg[C_NCAS]))) {
            /* ACT-2 at the first cycle nothing else is ready for, or at its deadline */
            apply_updates(&d, ACT2, act2_bank, now);
            s[S_COUNTS + ACT2] += 1;
            if (logging && log_push(&log, now, ACT2, act2_bank, act2_row) < 0) {
                PyErr_NoMemory();
                goto out;
            }
            act2_bank = -1;
            now += 1;
            continue;
        }
        if (ref_pending) {
            int rcmd;
            i64 rbank = 0, rt;
            if (refresh == REFRESH_ALL_BANK) {
                rcmd = s[S_OPEN_BANKS] ? PREA : REFAB;
                rt = npinned ? INF : max64(now, earliest(&d, rcmd, 0));
            } else {
                rcmd = REFPB;
                rbank = s[S_REF_BANK];
                int held = 0;
                for (i64 b = rbank % d.sets; b < nb; b += d.sets) held |= pinned[b] >= 0;
                for (i64 b = rbank % d.sets; b < nb; b += d.sets) {
                    if (d.open_row[b] >= 0) {
                        rcmd = PRE;
                        rbank = b;
                        break;
                    }
                }
                rt = held ? INF : max64(now, earliest(&d, rcmd, rbank));
            }
            if (act2_bank < 0 && rt < INF && rt <= best_t) {
                const i64 due_before = ref_due;
                apply_updates(&d, rcmd, rbank, rt);
                s[S_COUNTS + rcmd] += 1;
                if (logging && log_push(&log, rt, rcmd, rbank, -1) < 0) {
                    PyErr_NoMemory();
                    goto out;
                }
                close_or_open(&d, rcmd, rbank, -1, rt);
                if (rcmd == REFAB) {
                    ref_due += cfg[C_NREFI];
                    s[S_REF_CYCLES] += cfg[C_NRFCAB];
                    ref_pending = 0;
                } else if (rcmd == REFPB) {
                    ref_due += cfg[C_NREFIPB];
                    s[S_REF_CYCLES] += cfg[C_NRFCPB];
                    s[S_REF_BANK] = (rbank + 1) % d.sets;
                    ref_pending = 0;
                }
                if (!ref_pending && rt == due_before && !logging && !rcount && !wcount &&
                    !npinned && !s[S_OPEN_BANKS] && next_arrival < INF)
                    rt = skip_idle_refreshes(&d, cfg, rcmd, next_arrival, &ref_due, rt);
                now = rt + 1;
                continue;
            }
        } else if (refresh != REFRESH_OFF && ref_due <= best_t &&
                   !(now < next_arrival && next_arrival < best_t && next_arrival < ref_due)) {
            /* The refresh falls due before the next command (and before any arrival). */
            ref_pending = 1;
            if (ref_due > now) now = ref_due;
            continue;
        }
        if (now < next_arrival && next_arrival <= best_t && nxt < n &&
            (write_of[nxt] ? wcount < wdepth : rcount < rdepth)) {
            now = next_arrival; /* a request arrives, with room, before the next command */
            continue;
        }
        if (best_bank < 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "DRAM controller has queued requests but no command");
            goto out;
        }
        const i64 b = best_bank;
        i64 t = best_t;
        if (best_col) {
            const i64 req = best_tie < n ? best_tie : best_tie - n;
            const int is_w = write_of[req] != 0;
            if (need_sync && t >= wck_expiry) { /* WCK2CK sync, the column command follows */
                apply_updates(&d, CAS, b, t);
                s[S_COUNTS + CAS] += 1;
                if (logging && log_push(&log, t, CAS, b, row_of[req]) < 0) {
                    PyErr_NoMemory();
                    goto out;
                }
                t += cfg[C_NCAS];
            }
            i64 *q = (is_w ? wq : rq) + b * (is_w ? wcap : rcap);
            i64 *lens = is_w ? wlen : rlen;
            memmove(q + best_pos, q + best_pos + 1, sizeof(i64) * (size_t)(lens[b] - best_pos - 1));
            lens[b]--;
            int released = 0;
            if (pinned[b] == req) {
                pinned[b] = -1;
                npinned--;
                released = release_at_act;
            }
            if (!released) {
                if (is_w) wcount--; else rcount--;
                queue_cycles += t - enqueued[req];
            }
            int cmd;
            if (is_w) {
                done[req] = t + cfg[C_WRITE_DONE];
                cmd = closed ? WRA : WR;
                wck_expiry = max64(wck_expiry, t + cfg[C_WCK_WRITE]);
            } else {
                done[req] = t + cfg[C_READ_DONE];
                cmd = closed ? RDA : RD;
                wck_expiry = max64(wck_expiry, t + cfg[C_WCK_READ]);
            }
            finished++;
            if (!classified[req]) {
                classified[req] = 1;
                s[S_OUTCOME + HIT] += 1;
            }
            apply_updates(&d, cmd, b, t);
            s[S_COUNTS + cmd] += 1;
            if (logging && log_push(&log, t, cmd, b, row_of[req]) < 0) {
                PyErr_NoMemory();
                goto out;
            }
            close_or_open(&d, cmd, b, row_of[req], t);
            now = t + 1;
            continue;
        }
        const i64 req = best_tie - n;
        const int cmd = best_cmd;
        if (!classified[req]) {
            classified[req] = 1;
            s[S_OUTCOME + (cmd == ACT ? MISS : CONFLICT)] += 1;
        }
        apply_updates(&d, cmd, b, t);
        s[S_COUNTS + cmd] += 1;
        if (logging && log_push(&log, t, cmd, b, row_of[req]) < 0) {
            PyErr_NoMemory();
            goto out;
        }
        close_or_open(&d, cmd, b, row_of[req], t);
        if (cmd == PRE) {
            now = t + 1;
            continue;
        }
        raise_to(d.ch + ACT, d.faw[s[S_FAW_INDEX]] + d.nfaw); /* the four-activate window */
        pinned[b] = req; /* the request takes the bank's active slot */
        npinned++;
        if (release_at_act) {
            if (write_of[req]) wcount--; else rcount--;
            queue_cycles += t - enqueued[req];
        }
        act2_bank = b;
        act2_deadline = t + cfg[C_NAAD];
        act2_row = row_of[req];
        now = t + 1;
    }
    s[S_NOW] = now;
    s[S_WRITE_MODE] = write_mode;
    s[S_REF_DUE] = ref_due;
    s[S_REF_PENDING] = ref_pending;
    s[S_QUEUE_CYCLES] += queue_cycles;
    s[S_WCK_EXPIRY] = wck_expiry;
    if (logging) {
        result = PyBytes_FromStringAndSize((const char *)log.data,
                                           (Py_ssize_t)(log.len * (Py_ssize_t)sizeof(i64)));
    } else {
        Py_INCREF(Py_None);
        result = Py_None;
    }
out:
    for (int i = 0; i < got; i++) PyBuffer_Release(&view[i]);
    free(rq);
    free(wq);
    free(classified);
    free(log.data);
    return result;
}


/* ---- Trace text reader (npusim/trace.py): an optional fast path of the same format. ----
 * Accepts a strict, common subset: ASCII lines split by "\n" (or "\r\n"), fields split by
 * spaces or tabs, "#" comments, blank lines; "LD|ST <addr> [<bytes>]" or
 * "<cycle> <R|W|LD|ST> <addr> [<bytes>]" (operations in any case), numbers as 1-15 decimal
 * digits or "0x" and 1-16 hex digits, at most MAX_VALUE (2^48 - 1). Anything else returns
 * None and the caller falls back to the numpy reader or the line parser, which report errors
 * with their line. Limits mirror npusim.trace: MAX_VALUE, MAX_REQUEST_BYTES. */
#define TRACE_MAX_VALUE (((i64)1 << 48) - 1)
#define TRACE_MAX_REQUEST_BYTES ((i64)1 << 30)

typedef struct {
    i64 *data;
    Py_ssize_t len, cap;
} Column;

static int column_push(Column *c, i64 v) {
    if (c->len == c->cap) {
        Py_ssize_t cap = c->cap ? 2 * c->cap : 1 << 16;
        i64 *data = realloc(c->data, (size_t)cap * sizeof(i64));
        if (!data) return -1;
        c->data = data;
        c->cap = cap;
    }
    c->data[c->len++] = v;
    return 0;
}

/* Parse one number token [p, e); -1 if it is not a plain number of at most MAX_VALUE. */
static i64 trace_number(const unsigned char *p, const unsigned char *e) {
    uint64_t v = 0; /* 16 hex digits (0x%016x, a common layout) fit without overflow */
    if (e - p > 2 && p[0] == '0' && (p[1] | 32) == 'x') {
        p += 2;
        if (e - p > 16) return -1;
        for (; p < e; p++) {
            int c = *p, d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if ((c | 32) >= 'a' && (c | 32) <= 'f') d = (c | 32) - 'a' + 10;
            else return -1;
            v = v * 16 + d;
        }
    } else {
        if (e - p < 1 || e - p > 15) return -1;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9') return -1;
            v = v * 10 + (*p - '0');
        }
    }
    return v > (uint64_t)TRACE_MAX_VALUE ? -1 : (i64)v;
}

static PyObject *column_bytes(Column *c) {
    return PyBytes_FromStringAndSize((const char *)c->data, c->len * (Py_ssize_t)sizeof(i64));
}

static PyObject *parse_trace(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    Column addr = {0}, write = {0}, size = {0}, cycle = {0};
    int timed = -1, ok = 1;
    PyObject *result = NULL;
    while (p < end && ok) {
        const unsigned char *line_end = memchr(p, '\n', (size_t)(end - p));
        if (!line_end) line_end = end;
        const unsigned char *q = line_end;
        if (q > p && q[-1] == '\r') q--; /* CRLF */
        const unsigned char *tok[5], *tok_end[5];
        int n = 0;
        for (const unsigned char *c = p; c < q;) {
            if (*c == ' ' || *c == '\t') {
                c++;
                continue;
            }
            if (*c == '#') {
                /* a comment: plain text only (a CR, form feed or non-ASCII byte in it is a
                   line break or an encoding question the other readers settle) */
                for (const unsigned char *k = c; k < q; k++)
                    if ((*k < 32 && *k != '\t') || *k > 126) ok = 0;
                break;
            }
            if (*c < 33 || *c > 126) {
                ok = 0; /* other whitespace, control or non-ASCII bytes */
                break;
            }
            if (n == 5) {
                ok = 0;
                break;
            }
            tok[n] = c;
            while (c < q && *c > 32 && *c < 127 && *c != '#') c++;
            tok_end[n++] = c;
        }
        p = line_end + 1;
        if (!ok || n == 0) continue;
        int is_timed = tok[0][0] >= '0' && tok[0][0] <= '9';
        if (timed < 0) timed = is_timed;
        int base = is_timed ? 1 : 0, fields = n - base;
        if (is_timed != timed || fields < 2 || fields > 3) {
            ok = 0;
            break;
        }
        const unsigned char *o = tok[base];
        Py_ssize_t olen = tok_end[base] - o;
        int store;
        if (olen == 2 && (o[0] | 32) == 'l' && (o[1] | 32) == 'd') store = 0;
        else if (olen == 2 && (o[0] | 32) == 's' && (o[1] | 32) == 't') store = 1;
        else if (olen == 1 && (o[0] | 32) == 'r') store = 0;
        else if (olen == 1 && (o[0] | 32) == 'w') store = 1;
        else {
            ok = 0;
            break;
        }
        i64 a = trace_number(tok[base + 1], tok_end[base + 1]);
        i64 b = fields == 3 ? trace_number(tok[base + 2], tok_end[base + 2]) : 0;
        if (a < 0 || (fields == 3 && (b < 1 || b > TRACE_MAX_REQUEST_BYTES))) {
            ok = 0;
            break;
        }
        if (timed) {
            i64 t = trace_number(tok[0], tok_end[0]);
            if (t < 0 || (cycle.len && t < cycle.data[cycle.len - 1])) {
                ok = 0;
                break;
            }
            if (column_push(&cycle, t) < 0) goto nomem;
        }
        if (column_push(&addr, a) < 0 || column_push(&write, store) < 0 ||
            column_push(&size, b) < 0)
            goto nomem;
    }
    if (!ok || addr.len == 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = Py_BuildValue("(NNNN)", column_bytes(&addr), column_bytes(&write),
                               column_bytes(&size),
                               timed ? column_bytes(&cycle) : (Py_INCREF(Py_None), Py_None));
    }
    goto done;
nomem:
    PyErr_NoMemory();
done:
    free(addr.data);
    free(write.data);
    free(size.data);
    free(cycle.data);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS,
     "run(bank, row, is_write, arrival, done, enqueued, cfg, upd, bank_ready, group_ready, "
     "channel_ready, faw, open_row, scal) -> bytes | None"},
    {"parse_trace", parse_trace, METH_O,
     "parse_trace(data) -> (addr, is_write, size, cycle | None) int64 bytes, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernel",
    "Compiled twin of the LPDDR5 controller's general loop and trace reader (optional).", -1,
    methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
