/*
 * consumer.c - the analysts' customer: maps the three result regions it
 * was granted read-only and prints them.
 *
 *   consumer [HIST [STATS [TOPK]]]   (default: hist/hist-result stats/stats-result
 *                                    topk/topk-result)
 *
 * Nothing is copied: each result is read where its analyst wrote it.
 *
 * Exit status: 0 every result was read, 1 a region could not be mapped,
 * 2 a region holds no complete result.
 */
#include <stdio.h>

#include "marketplace.h"

static const char *const column_names[MP_COLUMNS] = {"store", "quantity",
                                                     "price", "rating"};

/* Maps a result region; NULL (after a message) unless it holds `magic`. */
static const struct mp_header *result(const char *name, uint32_t magic,
                                      size_t bytes, int *status) {
    uint32_t size;
    const struct mp_header *h = mp_map_readonly("consumer", name, &size);
    if (h == NULL) {
        *status = 1;
        return NULL;
    }
    if (size < bytes || h->magic != magic) {
        printf("consumer: \"%s\" holds no complete result\n", name);
        *status = 2;
        return NULL;
    }
    return h;
}

static void print_hist(const struct mp_hist_result *r) {
    uint32_t most = 1;
    for (uint32_t b = 0; b < r->bins && b < MP_HIST_BINS; b++)
        if (r->count[b] > most)
            most = r->count[b];
    printf("histogram of price, %u records:\n", r->h.records);
    for (uint32_t b = 0; b < r->bins && b < MP_HIST_BINS; b++) {
        char bar[41];
        uint32_t len = (uint32_t)((uint64_t)r->count[b] * 40 / most);
        memset(bar, '#', len);
        bar[len] = '\0';
        printf("  [%4.0f, %4.0f) %9u%s%s\n", b * r->width, (b + 1) * r->width,
               r->count[b], len ? " " : "", bar);
    }
}

static void print_stats(const struct mp_stats_result *r) {
    printf("mean and variance per column, %u records:\n", r->h.records);
    printf("  %-9s %12s %14s %10s %10s\n", "column", "mean", "variance", "min",
           "max");
    for (uint32_t c = 0; c < r->columns && c < MP_COLUMNS; c++)
        printf("  %-9s %12.4f %14.4f %10.2f %10.2f\n", column_names[c],
               r->mean[c], r->variance[c], r->min[c], r->max[c]);
}

static void print_topk(const struct mp_topk_result *r) {
    printf("top %u sales by revenue, %u records:\n", r->k, r->h.records);
    printf("  %2s %10s %6s %4s %8s %9s\n", "#", "record", "store", "qty",
           "price", "revenue");
    for (uint32_t j = 0; j < r->k && j < MP_TOPK; j++) {
        const struct mp_topk_entry *e = &r->top[j];
        printf("  %2u %10u %6d %4d %8.2f %9.2f\n", j + 1, e->index, e->store,
               e->quantity, e->price, e->revenue);
    }
}

int main(int argc, char **argv) {
    const char *hist = argc > 1 ? argv[1] : MP_HIST_RESULT_PATH;
    const char *stats = argc > 2 ? argv[2] : MP_STATS_RESULT_PATH;
    const char *topk = argc > 3 ? argv[3] : MP_TOPK_RESULT_PATH;
    int status = 0;

    const struct mp_header *h;
    h = result(hist, MP_HIST_MAGIC, sizeof(struct mp_hist_result), &status);
    if (h != NULL)
        print_hist((const struct mp_hist_result *)h);
    h = result(stats, MP_STATS_MAGIC, sizeof(struct mp_stats_result), &status);
    if (h != NULL)
        print_stats((const struct mp_stats_result *)h);
    h = result(topk, MP_TOPK_MAGIC, sizeof(struct mp_topk_result), &status);
    if (h != NULL)
        print_topk((const struct mp_topk_result *)h);
    return status;
}
