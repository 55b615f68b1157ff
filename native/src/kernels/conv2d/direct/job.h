/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: the job
 * description shared by forward and backward-data (job_t), the choice of the tile width
 * (choose_nv) and the loops that run one row of tiles (run_row, run_rows2d).
 */

/* ---------------------------------------------------------------------------------------
 * Scratch: per-thread buffers from core/scratch.h (freed at thread exit, trimmed at the end
 * of each call). tls_pack_job only tags which job's weights this thread's PACK buffer holds:
 * job ids are unique and buffers are only trimmed between jobs, so a stale tag never matches.
 * ------------------------------------------------------------------------------------- */
static __thread uint64_t tls_pack_job;        /* job whose weights the PACK slot holds */
static uint64_t pack_job_counter;             /* job ids, unique per process (0 = none) */

/* ---------------------------------------------------------------------------------------
 * Job description shared by forward and backward-data.
 * ------------------------------------------------------------------------------------- */
typedef struct {
    const pcnn_conv2d_desc *d; /* the (possibly 1x1-flattened) geometry */
    int bwd;                   /* 0 = forward, 1 = backward-data */
    const float *in;           /* src or diff_dst */
    float *out;                /* dst or diff_src */
    const float *bias;         /* forward only, may be NULL */
    const float *weights;      /* OIHW */
    float *wpk;                /* packed weights: [g][block][ci][k][ocb] */
    int64_t groups;
    int64_t ci_g, co_g;        /* engine input / output channels per group */
    int64_t in_h, in_w;        /* engine input plane */
    int64_t out_h, out_w;      /* engine output plane */
    int64_t kt;                /* kh * kw */
    int nv;                    /* vectors per tile */
    int64_t nblocks;           /* output-channel blocks per group */
    int64_t rows_per_task, row_chunks;
    int64_t blocks_per_task, block_chunks;
    int direct;                /* read the input in place (no padded copy) */
    int rowmode;               /* forward, rows narrower than a vector: tiles span rows */
    int nr;                    /* backward: rows per 2-D tile (ukr2), or 0 */
    int chtile;                /* channel tiles (ukrc_*, direct/channel_tiles.h) */
    int rowtile;               /* UKRR_NR-row tiles (ukrr_*), rows of 17..32 (backward-data:
                                * stride 1) */
    int pwx;                   /* pointwise: tiles run across images (direct/pointwise.h) */
    const uint16_t *fmask;     /* flat tiles: the mask table (direct/flat_tiles.h) */
    const int64_t *ftap_in;    /* flat tiles: per tap, the flat input offset */
    int64_t row_w;             /* width of one scratch row (per phase) */
    int64_t padl;              /* backward: zero columns left of diff_dst column 0 */
    int64_t uw_max;            /* backward: widest phase row (ceil(iw / sw)) */
    int failed;                /* set (atomically) when a task could not get scratch */
    int64_t macs;              /* multiply-adds of the whole job (thread-count heuristic) */
    uint64_t id;               /* unique job id: keys the per-thread packed weights */
    pcnn_task_fn task;         /* fwd_task / bwd_task / pw_task, run through dyn_task */
    int64_t ntasks;
    _Alignas(64) int64_t next; /* next task to hand out (atomic; own cache line) */
} job_t;

/* Output-channel block b of a group: [*start, *start + *count). Blocks differ by at most
 * one channel (the first co_g % nblocks blocks are one larger). */
static inline void block_range(const job_t *j, int64_t b, int64_t *start, int64_t *count) {
    const int64_t base = j->co_g / j->nblocks;
    const int64_t extra = j->co_g % j->nblocks;
    *count = base + (b < extra ? 1 : 0);
    *start = b * base + (b < extra ? b : extra);
}

/* Tiles per row for a width and a tile of nv vectors (see "Tails" in conv2d-direct.h). */
static inline int64_t tiles_for(int64_t width, int nv) {
    const int64_t span = (int64_t)nv * VL;
    return width <= span ? 1 : ceil_div(width, span);
}

/* Vectors per tile for rows of this width: the fewest computed vectors (masked lanes
 * included, one-vector tiles penalised). A row is covered by whole nv-vector tiles and one
 * narrower tail tile (see run_row). On ties the wider tile wins (fewer loads per FMA),
 * unless its tail is a lone vector: then the narrower one, whose larger channel block
 * re-reads the input fewer times (measured on the 196-pixel 1x1 layer: ~8% faster). */
static int choose_nv(int64_t width) {
    int best = 1;
    int64_t best_cost = INT64_MAX;
    const int64_t need = ceil_div(width, VL);
    for (int nv = 1; nv <= NV_MAX && nv <= need; ++nv) {
        const int64_t span = (int64_t)nv * VL;
        const int64_t full = width / span;
        const int64_t tail = ceil_div(width - full * span, VL);
        /* one-vector tiles cost one broadcast per FMA: measured ~20% slower per vector */
        const int64_t cost = full * nv * (nv == 1 ? 5 : 4) + tail * (tail == 1 ? 5 : 4);
        if (cost < best_cost || (cost == best_cost && tail != 1)) {
            best_cost = cost;
            best = nv;
        }
    }
    return best;
}

/* Runs the tiles of one output row segment [0, width) for one channel block: whole tiles
 * of nv vectors, then one tail tile of the remaining ceil(rem / VL) vectors whose last
 * vector is masked (loads and stores: nothing past the row is touched). Every pixel's sum
 * is the same instruction sequence in any tile, so the split never changes a bit. */
/* Like run_row, for `rows` output rows at once (2-D tiles): rows are in_rs / out_rs
 * apart in the input / output. */
static inline void run_rows2d(ukr_args *a, int64_t width, int64_t rows, int nv, int64_t ocb,
                              float *out_row, int64_t out_rs, const float *in_row,
                              int64_t in_rs) {
    const int64_t span = (int64_t)nv * VL;
    a->in_vstride = in_rs;
    a->out_vstride = out_rs;
    a->mid = vmask_first(VL);
    a->last = a->mid;
    const ukr_fn fn = ukr2_table[ocb][rows][nv];
    int64_t x0 = 0;
    for (; x0 + span <= width; x0 += span) {
        a->in = in_row + x0;
        a->out = out_row + x0;
        fn(a);
    }
    if (x0 < width) {
        const int64_t rem = width - x0;
        const int64_t nvu = ceil_div(rem, VL);
        a->last = vmask_first(rem - (nvu - 1) * VL);
        a->in = in_row + x0;
        a->out = out_row + x0;
        ukr2_table[ocb][rows][nvu](a);
    }
}

static inline void run_row(ukr_args *a, int64_t width, int nv, int64_t ocb, float *out_row,
                           const float *in_row) {
    const int64_t span = (int64_t)nv * VL;
    a->in_vstride = VL;
    a->out_vstride = VL;
    a->mid = vmask_first(VL);
    a->last = a->mid;
    const ukr_fn fn = ukr_table[ocb][nv];
    int64_t x0 = 0;
    for (; x0 + span <= width; x0 += span) {
        a->in = in_row + x0;
        a->out = out_row + x0;
        fn(a);
    }
    if (x0 < width) {
        const int64_t rem = width - x0;
        const int64_t nvu = ceil_div(rem, VL);
        a->last = vmask_first(rem - (nvu - 1) * VL);
        a->in = in_row + x0;
        a->out = out_row + x0;
        ukr_table[ocb][nvu](a);
    }
}

/* Task index -> (n, g, row chunk, block chunk). */
static inline void task_coords(const job_t *j, int64_t t, int64_t *n, int64_t *g, int64_t *rc,
                               int64_t *bc) {
    *bc = t % j->block_chunks;
    t /= j->block_chunks;
    *rc = t % j->row_chunks;
    t /= j->row_chunks;
    *g = t % j->groups;
    *n = t / j->groups;
}

static void mark_failed(job_t *j) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); }
