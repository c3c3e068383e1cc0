/*
 * stats.c - analyst: mean, variance, minimum and maximum of every column.
 *
 *   stats [DATASET [RESULT [CONSUMER]]]  (default: host/dataset stats-result consumer)
 *
 * Maps the region DATASET read-only, sums each column and its squares in
 * double precision, in record order (the host repeats the same sums to
 * check the result bit for bit), writes a struct mp_stats_result into
 * pages of its own, shares them as RESULT and grants R to CONSUMER. The
 * variance is the population variance, sum(x^2)/n - mean^2.
 *
 * Exit status: 0 done, 1 an ABI call failed or the data set is unusable.
 */
#include <stdio.h>

#include "marketplace.h"

int main(int argc, char **argv) {
    const char *dataset = argc > 1 ? argv[1] : MP_DATASET_PATH;
    const char *result_name = argc > 2 ? argv[2] : MP_STATS_RESULT;
    const char *consumer = argc > 3 ? argv[3] : MP_CONSUMER;

    struct mp_stats_result *res = waven_alloc_pages(sizeof *res);
    if (res == NULL) {
        printf("stats: memory.grow failed\n");
        return 1;
    }

    uint64_t t0 = mp_now_ns();
    uint32_t size;
    const struct mp_record *rec = mp_map_readonly("stats", dataset, &size);
    if (rec == NULL)
        return 1;
    uint64_t t1 = mp_now_ns();
    uint32_t n = size / sizeof *rec;
    printf("stats: mapped \"%s\" read-only at %p: %u records in %.2f ms\n",
           dataset, (const void *)rec, n, mp_ms(t1 - t0));
    if (n == 0) {
        printf("stats: the data set is empty\n");
        return 1;
    }

    double sum[MP_COLUMNS] = {0}, sq[MP_COLUMNS] = {0};
    double lo[MP_COLUMNS], hi[MP_COLUMNS];
    for (int c = 0; c < MP_COLUMNS; c++) {
        lo[c] = 1e300;
        hi[c] = -1e300;
    }
    for (uint32_t i = 0; i < n; i++) {
        double x[MP_COLUMNS] = {rec[i].store, rec[i].quantity, rec[i].price,
                                rec[i].rating};
        for (int c = 0; c < MP_COLUMNS; c++) {
            sum[c] += x[c];
            sq[c] += x[c] * x[c];
            if (x[c] < lo[c])
                lo[c] = x[c];
            if (x[c] > hi[c])
                hi[c] = x[c];
        }
    }
    uint64_t t2 = mp_now_ns();

    res->columns = MP_COLUMNS;
    for (int c = 0; c < MP_COLUMNS; c++) {
        double mean = sum[c] / n;
        res->mean[c] = mean;
        res->variance[c] = sq[c] / n - mean * mean;
        res->min[c] = lo[c];
        res->max[c] = hi[c];
    }
    res->h.records = n;
    res->h.map_ns = t1 - t0;
    res->h.compute_ns = t2 - t1;
    res->h.magic = MP_STATS_MAGIC;
    printf("stats: %d columns of %u records in %.1f ms\n", MP_COLUMNS, n,
           mp_ms(t2 - t1));
    return mp_publish("stats", res, sizeof *res, result_name, consumer);
}
