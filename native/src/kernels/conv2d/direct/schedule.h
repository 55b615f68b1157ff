/*
 * conv2d direct (forward / backward-data), part of the conv2d-direct.h template: how a job
 * is cut into tasks (plan_tasks), the 1x1 flattening, and running the tasks on the thread
 * pool (run_job: weight packing up front or per thread, dynamic or fixed task ranges).
 */

/* Whole images per task (row tiles and channel tiles, forward and backward-data) pays when
 * the images alone give every thread ~4 tasks; see the measurements where it is called. */
static inline int images_fill_threads(const pcnn_conv2d_desc *d) {
    return d->n * d->groups >= 4 * imax(1, pcnn_get_num_threads());
}

/* One task per image (rows rows) and group, every channel block in it: overrides plan_tasks. */
static inline void whole_image_tasks(job_t *j, int64_t rows) {
    j->rows_per_task = rows;
    j->row_chunks = 1;
    j->blocks_per_task = j->nblocks;
    j->block_chunks = 1;
}

/* Splits the work into tasks: enough of them for the threads, each big enough to pay for
 * its scratch copy and the tap setup. */
static void plan_tasks(job_t *j, int64_t n_images, int64_t rows, int64_t tiles_per_row,
                       int64_t work_per_row, int64_t min_rows, int64_t halo) {
    const int64_t min_work = 1 << 17; /* multiply-adds per task, roughly */
    if (j->macs <= min_work) { /* tiny: one task per image and group, no arithmetic */
        j->rows_per_task = rows;
        j->row_chunks = 1;
        j->blocks_per_task = j->nblocks;
        j->block_chunks = 1;
        return;
    }
    const int64_t threads = imax(1, pcnn_get_num_threads());
    int64_t rpt = imax(1, imin(rows, ceil_div(min_work, imax(1, work_per_row))));
    /* and at least ~4 tiles per block, so that each block's weights are reused; a
     * forward row-mode tile spans min_rows rows (without this, the 3x3 stride-2 layer got
     * one tile per block per task and re-streamed all its weights from L3 every 4 rows;
     * for backward-data, whose tiles are per residue and phase, larger tasks measured no
     * better) */
    rpt = imin(rows, imax(rpt, ceil_div(4, tiles_per_row) * (j->bwd ? 1 : min_rows)));
    /* and, with a padded copy, rows enough that the halo (rows copied by two tasks, in
     * task rows) adds at most ~25% to the copy */
    if (!j->direct) {
        rpt = imin(rows, imax(rpt, 4 * halo));
    }
    /* and whole multi-row tiles in row mode: a multiple of min_rows */
    rpt = imin(rows, ceil_div(rpt, min_rows) * min_rows);
    int64_t row_chunks = ceil_div(rows, rpt);
    const int64_t want = 4 * threads;
    const int64_t base = n_images * j->groups;
    if (base * row_chunks < want && rpt > 1) {
        row_chunks = imin(rows, ceil_div(want, base));
        rpt = ceil_div(rows, row_chunks);
        /* keep whole row-mode tiles while every thread still gets a task */
        const int64_t whole = imin(rows, ceil_div(rpt, min_rows) * min_rows);
        if (base * ceil_div(rows, whole) >= threads) {
            rpt = whole;
        }
        row_chunks = ceil_div(rows, rpt);
    }
    j->rows_per_task = rpt;
    j->row_chunks = row_chunks;
    int64_t bchunks = 1;
    if (base * row_chunks < want) {
        bchunks = imin(j->nblocks, ceil_div(want, base * row_chunks));
    }
    j->blocks_per_task = ceil_div(j->nblocks, bchunks);
    j->block_chunks = ceil_div(j->nblocks, j->blocks_per_task);
}

/* 1x1, stride 1, no padding: one row of ih*iw pixels per image (a GEMM). */
static pcnn_conv2d_desc flatten_if_pointwise(const pcnn_conv2d_desc *d) {
    pcnn_conv2d_desc f = *d;
    if (d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_top == 0 &&
        d->pad_bottom == 0 && d->pad_left == 0 && d->pad_right == 0) {
        f.iw = d->ih * d->iw;
        f.ih = 1;
        f.ow = d->oh * d->ow;
        f.oh = 1;
    }
    return f;
}

/* The pool hands each thread a fixed range of task indices; a thread sharing its core with
 * another process (the machine is shared) then finishes its range last while the other
 * idles: the 3x3 stride-2 layer has only 8 tasks of ~0.8 ms. Instead every invocation takes
 * the next undone task until none is left, so a faster thread runs more of them. A task's
 * result does not depend on which thread runs it (per-thread scratch and packed weights
 * are pure copies), so the output bits do not depend on the schedule. */
static void dyn_task(void *p, int64_t t) {
    (void)t;
    job_t *j = p;
    for (;;) {
        const int64_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->ntasks) {
            return;
        }
        j->task(j, i);
    }
}

static int32_t run_job(job_t *j, pcnn_task_fn task, int64_t ntasks) {
    const int64_t wcount = j->groups * j->co_g * j->ci_g * j->kt;
    j->id = __atomic_add_fetch(&pack_job_counter, 1, __ATOMIC_RELAXED);
    /* Pointwise backward-data reads the OIHW weights in place (pw_weights). Forward and
     * backward-data tasks pack their blocks themselves, per thread (task_block_weights),
     * when that duplicated copy (a packed float costs some ~16 multiply-adds' time) stays
     * a few percent of the job; otherwise (large weights, little work per weight, e.g. one
     * image) they are packed once here, split across the pool. */
    j->wpk = NULL;
    const int lazy = task != pw_task && wcount <= j->macs / 256;
    if (!lazy && !(task == pw_task && j->bwd)) {
        j->wpk = pcnn_scratch_get(PCNN_SCRATCH_CONV_PACK, (size_t)wcount * sizeof(float));
        if (j->wpk == NULL) {
            return PCNN_STATUS_OUT_OF_MEMORY;
        }
        /* Tiny jobs stay on the calling thread: waking the pool costs more than they do.
         * Work estimate: a packed float (strided store) costs several multiply-adds. */
        pcnn_parallel_for_work(j->groups * j->nblocks, sat_mul(wcount, 8), pack_task, j);
    }
    j->failed = 0;
    j->task = task;
    j->ntasks = ntasks;
    j->next = 0;
    /* Handing out a task costs a cache line moving between cores (~0.1-0.3 us): only for
     * tasks of a few microseconds or more (measured 2x slower on the 32-channel 32x32
     * layer's ~1 us tasks when every task was handed out). The pointwise tasks keep the
     * fixed ranges: a thread's consecutive tasks share an image (and its L2 lines). */
    const int dynamic = task != pw_task && ntasks > 0 && j->macs / ntasks >= ((int64_t)1 << 21);
    pcnn_parallel_for_work(ntasks, j->macs, dynamic ? dyn_task : task, j);
    return __atomic_load_n(&j->failed, __ATOMIC_RELAXED) ? PCNN_STATUS_OUT_OF_MEMORY
                                                         : PCNN_STATUS_OK;
}
