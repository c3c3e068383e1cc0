/*
 * topk.c - analyst: the MP_TOPK sales of highest revenue (price * quantity).
 *
 *   topk [DATASET [RESULT [CONSUMER]]]   (default: host/dataset topk-result consumer)
 *
 * Maps the region DATASET read-only and keeps the best MP_TOPK records in
 * a small sorted array as it scans (ties: the lower record number first),
 * writes a struct mp_topk_result into pages of its own, shares them as
 * RESULT and grants R to CONSUMER.
 *
 * Exit status: 0 done, 1 an ABI call failed or the data set is unusable.
 */
#include <stdio.h>

#include "marketplace.h"

int main(int argc, char **argv) {
    const char *dataset = argc > 1 ? argv[1] : MP_DATASET_PATH;
    const char *result_name = argc > 2 ? argv[2] : MP_TOPK_RESULT;
    const char *consumer = argc > 3 ? argv[3] : MP_CONSUMER;

    struct mp_topk_result *res = waven_alloc_pages(sizeof *res);
    if (res == NULL) {
        printf("topk: memory.grow failed\n");
        return 1;
    }

    uint64_t t0 = mp_now_ns();
    uint32_t size;
    const struct mp_record *rec = mp_map_readonly("topk", dataset, &size);
    if (rec == NULL)
        return 1;
    uint64_t t1 = mp_now_ns();
    uint32_t n = size / sizeof *rec;
    printf("topk: mapped \"%s\" read-only at %p: %u records in %.2f ms\n",
           dataset, (const void *)rec, n, mp_ms(t1 - t0));

    struct mp_topk_entry top[MP_TOPK];
    uint32_t k = 0;
    /* Revenue a record must beat to enter a full list. */
    float bar = -1.0f;
    for (uint32_t i = 0; i < n; i++) {
        float revenue = rec[i].price * (float)rec[i].quantity;
        if (k == MP_TOPK && !(revenue > bar))
            continue;
        /* Insert after every entry of equal or higher revenue. */
        uint32_t at = k < MP_TOPK ? k : MP_TOPK - 1;
        while (at > 0 && top[at - 1].revenue < revenue) {
            top[at] = top[at - 1];
            at--;
        }
        top[at].index = i;
        top[at].store = rec[i].store;
        top[at].quantity = rec[i].quantity;
        top[at].price = rec[i].price;
        top[at].revenue = revenue;
        if (k < MP_TOPK)
            k++;
        if (k == MP_TOPK)
            bar = top[MP_TOPK - 1].revenue;
    }
    uint64_t t2 = mp_now_ns();

    res->k = k;
    for (uint32_t j = 0; j < k; j++)
        res->top[j] = top[j];
    res->h.records = n;
    res->h.map_ns = t1 - t0;
    res->h.compute_ns = t2 - t1;
    res->h.magic = MP_TOPK_MAGIC;
    printf("topk: top %u of %u records by revenue in %.1f ms\n", k, n,
           mp_ms(t2 - t1));
    return mp_publish("topk", res, sizeof *res, result_name, consumer);
}
