/*
 * hist.c - analyst: histogram of the price column of the data set.
 *
 *   hist [DATASET [RESULT [CONSUMER]]]   (default: host/dataset hist-result consumer)
 *
 * Maps the region DATASET read-only (it was granted R, so that is all it
 * can get), counts the records per price bin (MP_HIST_BINS bins of
 * MP_HIST_WIDTH), writes a struct mp_hist_result into pages of its own,
 * shares them as RESULT and grants R to CONSUMER.
 *
 * Exit status: 0 done, 1 an ABI call failed or the data set is unusable.
 */
#include <stdio.h>

#include "marketplace.h"

int main(int argc, char **argv) {
    const char *dataset = argc > 1 ? argv[1] : MP_DATASET_PATH;
    const char *result_name = argc > 2 ? argv[2] : MP_HIST_RESULT;
    const char *consumer = argc > 3 ? argv[3] : MP_CONSUMER;

    struct mp_hist_result *res = waven_alloc_pages(sizeof *res);
    if (res == NULL) {
        printf("hist: memory.grow failed\n");
        return 1;
    }

    uint64_t t0 = mp_now_ns();
    uint32_t size;
    const struct mp_record *rec = mp_map_readonly("hist", dataset, &size);
    if (rec == NULL)
        return 1;
    uint64_t t1 = mp_now_ns();
    uint32_t n = size / sizeof *rec;
    printf("hist: mapped \"%s\" read-only at %p: %u records in %.2f ms\n",
           dataset, (const void *)rec, n, mp_ms(t1 - t0));

    uint32_t count[MP_HIST_BINS] = {0};
    for (uint32_t i = 0; i < n; i++) {
        uint32_t bin = (uint32_t)(rec[i].price * (1.0f / MP_HIST_WIDTH));
        if (bin >= MP_HIST_BINS)
            bin = MP_HIST_BINS - 1;
        count[bin]++;
    }
    uint64_t t2 = mp_now_ns();

    res->bins = MP_HIST_BINS;
    res->width = MP_HIST_WIDTH;
    for (uint32_t b = 0; b < MP_HIST_BINS; b++)
        res->count[b] = count[b];
    res->h.records = n;
    res->h.map_ns = t1 - t0;
    res->h.compute_ns = t2 - t1;
    res->h.magic = MP_HIST_MAGIC;
    printf("hist: histogram of %u prices in %.1f ms\n", n, mp_ms(t2 - t1));
    return mp_publish("hist", res, sizeof *res, result_name, consumer);
}
