/*
 * aggregate.c - stage 3 of the FaaS chain: reads the priced records of
 * state-2 (read-only) and sums them up (struct faas_summary, in its own
 * memory): records, total value, per-kind counts and sums, and a checksum
 * (64-bit FNV-1a over value << 32 | mix of every record).
 *
 *   aggregate         (as a command: zero-copy, state-2 mapped read-only)
 *
 * Exit status 0 if the records were all in order with valid kinds, 3
 * otherwise. See faas.h for the exports and the two hand-off modes.
 */
#define FAAS_STAGE "aggregate"
#define FAAS_IN FAAS_STATE_2
#define FAAS_OUT NULL
#include "faas.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static struct faas_summary summary;

static void stage_work(const void *in, void *out, uint32_t records) {
    const struct faas_priced *priced = in;
    struct faas_summary *s = out;
    *s = (struct faas_summary){0};
    uint64_t hash = FNV_OFFSET, total = 0;
    for (uint32_t i = 0; i < records; i++) {
        uint32_t kind = priced[i].kind, value = priced[i].value;
        if (priced[i].id != i)
            s->out_of_order++;
        if (kind < FAAS_KINDS) {
            s->count[kind]++;
            s->sum[kind] += value;
        } else {
            s->bad_kind++;
        }
        total += value;
        hash = (hash ^ ((uint64_t)value << 32 | priced[i].mix)) * FNV_PRIME;
    }
    s->records = records;
    s->total = total;
    s->checksum = hash;
}

static void *stage_private_output(void) { return &summary; }

static void stage_report(const void *in, const void *out, uint32_t records) {
    (void)in;
    (void)records;
    const struct faas_summary *s = out;
    printf("aggregate: %llu records, total value %llu, checksum %016llx\n",
           (unsigned long long)s->records, (unsigned long long)s->total,
           (unsigned long long)s->checksum);
    unsigned top = 0;
    for (unsigned k = 1; k < FAAS_KINDS; k++)
        if (s->sum[k] > s->sum[top])
            top = k;
    printf("aggregate: top kind %u (%lu records, value %llu); out of order %lu, "
           "bad kinds %lu\n",
           top, (unsigned long)s->count[top], (unsigned long long)s->sum[top],
           (unsigned long)s->out_of_order, (unsigned long)s->bad_kind);
}

int main(void) {
    int status = faas_main();
    if (status == 0 && (summary.out_of_order != 0 || summary.bad_kind != 0))
        status = 3;
    return status;
}
