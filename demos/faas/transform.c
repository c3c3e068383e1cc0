/*
 * transform.c - stage 2 of the FaaS chain: prices every event of state-1
 * (read-only) and writes the priced records (struct faas_priced) to
 * state-2.
 *
 *   transform         (as a command: zero-copy, state-1 mapped read-only,
 *                      state-2 read-write)
 *
 * value = amount * rate[kind] / 1024, with a fixed rate per kind;
 * mix = tag * 0x9e3779b1 ^ id. See faas.h for the exports and the two
 * hand-off modes.
 */
#define FAAS_STAGE "transform"
#define FAAS_IN FAAS_STATE_1
#define FAAS_OUT FAAS_STATE_2
#include "faas.h"

/** Price per unit of amount, per kind, in 1/1024. */
static const uint32_t rate[FAAS_KINDS] = {
    1024, 1126, 870, 2048, 512, 1331, 1500, 999,
    1800, 640, 1200, 3000, 768, 1024, 2500, 100,
};

static void stage_work(const void *in, void *out, uint32_t records) {
    const struct faas_event *event = in;
    struct faas_priced *priced = out;
    for (uint32_t i = 0; i < records; i++) {
        uint32_t kind = event[i].kind;
        priced[i].id = event[i].id;
        priced[i].kind = kind;
        /* amount < 2^20 and rate < 2^12: the product fits in 32 bits. */
        priced[i].value = (event[i].amount * rate[kind & (FAAS_KINDS - 1)]) >> 10;
        priced[i].mix = event[i].tag * 0x9e3779b1u ^ event[i].id;
    }
}

static void *stage_private_output(void) { return NULL; }

static void stage_report(const void *in, const void *out, uint32_t records) {
    (void)in;
    const struct faas_priced *priced = out;
    printf("transform: record %lu: kind %lu, value %lu\n",
           (unsigned long)(records - 1), (unsigned long)priced[records - 1].kind,
           (unsigned long)priced[records - 1].value);
}

int main(void) { return faas_main(); }
