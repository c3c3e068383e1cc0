/*
 * marketplace.h - what the tenants of the data marketplace demo agree on:
 * the data set's record layout and generator, the layout of each
 * analyst's result region, and small helpers over the waven ABI.
 *
 * The data set is an array of `struct mp_record` (16 bytes each) filling a
 * region ("dataset" by default). Record i is a pure function of i
 * (mp_make_record), so a provider can generate any size, and the host
 * (crates/cli/src/demo/marketplace.rs) generates the same bytes to check
 * the analysts' results. Everything is little-endian, as in wasm32.
 *
 * Each analyst writes one result struct at the start of pages of its own,
 * shares them as its result region (max rights R) and grants R to the
 * consumer. Every result starts with `struct mp_header`; the magic is
 * written last, so a reader that sees it sees a complete result.
 */
#ifndef MARKETPLACE_H
#define MARKETPLACE_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "waven.h"

/* ------------------------------------------------------------------------ */
/* The data set                                                              */
/* ------------------------------------------------------------------------ */

/** Default names of the regions and instances of the demo. */
#define MP_DATASET "dataset"
#define MP_CONSUMER "consumer"
#define MP_HIST_RESULT "hist-result"
#define MP_STATS_RESULT "stats-result"
#define MP_TOPK_RESULT "topk-result"

/*
 * Region names are scoped by their owner. An analyst shares its result in
 * its own namespace (MP_HIST_RESULT); others open it as "hist/hist-result".
 * The data set is the provider's "dataset"; the analysts open it by its
 * owner's name: "host/dataset" when the host made it (`waven demo
 * marketplace`, the default below), "provider/dataset" in a manifest whose
 * provider tenant owns it (given as an argument).
 */
#define MP_DATASET_PATH "host/" MP_DATASET
#define MP_HIST_RESULT_PATH "hist/" MP_HIST_RESULT
#define MP_STATS_RESULT_PATH "stats/" MP_STATS_RESULT
#define MP_TOPK_RESULT_PATH "topk/" MP_TOPK_RESULT

/** One sale: which store, how many items, the unit price, a rating. */
struct mp_record {
    int32_t store;    /* 0..999 */
    int32_t quantity; /* 1..20 */
    float price;      /* 0.00..998.00, most sales cheap (a product of two uniforms) */
    float rating;     /* 1.00..5.00 */
};
_Static_assert(sizeof(struct mp_record) == 16, "records are 16 bytes");

/** The number of columns, in record order: store, quantity, price, rating. */
#define MP_COLUMNS 4

/** A 32-bit integer hash (Chris Wellons' "lowbias32"): the generator's mixer. */
static inline uint32_t mp_mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/** Seed of the data set: different seeds, different (but valid) data sets. */
#define MP_SEED 0x6d61726bu /* "mark" */

/** Record number i of the data set (indices wrap at 2^30, far above 4 GiB / 16). */
static inline struct mp_record mp_make_record(uint32_t i) {
    uint32_t base = MP_SEED + 4u * i;
    uint32_t u = mp_mix(base + 2);
    uint32_t cents = (u & 0xffffu) % 1000u * ((u >> 16) % 1000u) / 10u;
    struct mp_record r;
    r.store = (int32_t)(mp_mix(base) % 1000u);
    r.quantity = (int32_t)(1u + mp_mix(base + 1) % 20u);
    r.price = (float)cents / 100.0f;
    r.rating = 1.0f + (float)(mp_mix(base + 3) % 401u) / 100.0f;
    return r;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */
/* ------------------------------------------------------------------------ */

#define MP_HIST_MAGIC 0x54534948u  /* "HIST" */
#define MP_STATS_MAGIC 0x54415453u /* "STAT" */
#define MP_TOPK_MAGIC 0x4b504f54u  /* "TOPK" */

/** The start of every result. */
struct mp_header {
    uint32_t magic;      /* MP_*_MAGIC, written last */
    uint32_t records;    /* records analysed */
    uint64_t map_ns;     /* open + map of the data set, in the analyst's clock */
    uint64_t compute_ns; /* the analysis itself */
};
_Static_assert(sizeof(struct mp_header) == 24, "header layout");

/** Histogram of the price: MP_HIST_BINS bins of MP_HIST_WIDTH from 0. */
#define MP_HIST_BINS 16
#define MP_HIST_WIDTH 64.0f
struct mp_hist_result {
    struct mp_header h;
    uint32_t bins;             /* MP_HIST_BINS */
    float width;               /* MP_HIST_WIDTH */
    uint32_t count[MP_HIST_BINS];
};
_Static_assert(sizeof(struct mp_hist_result) == 96, "hist result layout");

/** Mean, population variance, minimum and maximum of each column. */
struct mp_stats_result {
    struct mp_header h;
    uint32_t columns; /* MP_COLUMNS */
    uint32_t reserved;
    double mean[MP_COLUMNS];
    double variance[MP_COLUMNS];
    double min[MP_COLUMNS];
    double max[MP_COLUMNS];
};
_Static_assert(sizeof(struct mp_stats_result) == 160, "stats result layout");

/** The MP_TOPK sales of highest revenue (price * quantity, in float). */
#define MP_TOPK 10
struct mp_topk_entry {
    uint32_t index; /* record number */
    int32_t store;
    int32_t quantity;
    float price;
    float revenue;
};
struct mp_topk_result {
    struct mp_header h;
    uint32_t k;       /* entries filled, at most MP_TOPK */
    uint32_t reserved;
    struct mp_topk_entry top[MP_TOPK]; /* highest revenue first; ties: lower index first */
};
_Static_assert(sizeof(struct mp_topk_result) == 232, "topk result layout");

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/** Nanoseconds of the WASI monotonic clock. */
static inline uint64_t mp_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * Opens region `name` and maps it read-only at the end of memory. Returns
 * its address and stores its size in *size, or NULL after printing why
 * (prefixed with `who`).
 */
static inline const void *mp_map_readonly(const char *who, const char *name,
                                          uint32_t *size) {
    waven_handle_t h = waven_open_str(name);
    if (waven_is_error(h)) {
        printf("%s: open(\"%s\") = %s\n", who, name, waven_strerror(h));
        return NULL;
    }
    int32_t bytes = waven_region_size(h);
    int32_t at = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_R);
    waven_close(h);
    if (waven_is_error(bytes) || waven_is_error(at)) {
        printf("%s: map(\"%s\", ANYWHERE, R) = %s\n", who, name,
               waven_strerror(waven_is_error(bytes) ? bytes : at));
        return NULL;
    }
    *size = (uint32_t)bytes;
    return (const void *)(uintptr_t)(uint32_t)at;
}

/**
 * Shares `bytes` at `result` (pages from waven_alloc_pages) as region
 * `name`, read-only for everybody, and grants R to `consumer`. The
 * analyst's own mapping becomes read-only too: the result is frozen.
 * Returns 0, or 1 after printing what failed.
 */
static inline int mp_publish(const char *who, void *result, size_t bytes,
                             const char *name, const char *consumer) {
    size_t len = waven_page_align_up(bytes);
    waven_handle_t h = waven_share_str(result, len, name, WAVEN_R);
    if (waven_is_error(h)) {
        printf("%s: share(\"%s\") = %s\n", who, name, waven_strerror(h));
        return 1;
    }
    int32_t r = waven_grant_str(h, consumer, WAVEN_R);
    if (waven_is_error(r)) {
        printf("%s: grant(\"%s\", \"%s\", R) = %s\n", who, name, consumer,
               waven_strerror(r));
        return 1;
    }
    r = waven_protect(result, (uint32_t)len, WAVEN_R);
    if (waven_is_error(r)) {
        printf("%s: protect(result, R) = %s\n", who, waven_strerror(r));
        return 1;
    }
    printf("%s: result in region \"%s\" (%zu bytes), granted R to %s\n", who,
           name, bytes, consumer);
    return 0;
}

/** Milliseconds, for printing. */
static inline double mp_ms(uint64_t ns) { return (double)ns / 1e6; }

#endif
