/*
 * parse.c - stage 1 of the FaaS chain: parses a stream of raw 64-bit event
 * words into records (struct faas_event) and writes them to state-1.
 *
 *   parse [SEED]      (as a command: zero-copy, state-1 mapped read-write)
 *
 * The stream is deterministic: splitmix64 from SEED (default
 * FAAS_DEFAULT_SEED), one word per record; a word's low 4 bits are the
 * kind, the next 20 the amount, the high 32 the tag. The host checks the
 * chain's result against its own computation of the same stream.
 * See faas.h for the exports and the two hand-off modes.
 */
#include <stdlib.h>

#define FAAS_STAGE "parse"
#define FAAS_IN NULL
#define FAAS_OUT FAAS_STATE_1
#include "faas.h"

static uint64_t seed = FAAS_DEFAULT_SEED;

/** The next raw word of the stream (splitmix64). */
static inline uint64_t next_word(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void stage_work(const void *in, void *out, uint32_t records) {
    (void)in;
    struct faas_event *event = out;
    uint64_t state = seed;
    for (uint32_t i = 0; i < records; i++) {
        uint64_t word = next_word(&state);
        event[i].id = i;
        event[i].kind = (uint32_t)word & (FAAS_KINDS - 1);
        event[i].amount = (uint32_t)(word >> 4) & 0xfffffu;
        event[i].tag = (uint32_t)(word >> 32);
    }
}

static void *stage_private_output(void) { return NULL; }

static void stage_report(const void *in, const void *out, uint32_t records) {
    (void)in;
    const struct faas_event *event = out;
    printf("parse: seed 0x%llx; event 0: kind %lu, amount %lu; event %lu: kind "
           "%lu, amount %lu\n",
           (unsigned long long)seed, (unsigned long)event[0].kind,
           (unsigned long)event[0].amount, (unsigned long)(records - 1),
           (unsigned long)event[records - 1].kind,
           (unsigned long)event[records - 1].amount);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        char *end;
        seed = strtoull(argv[1], &end, 0);
        if (*argv[1] == '\0' || *end != '\0') {
            printf("parse: the seed must be a number, not \"%s\"\n", argv[1]);
            return 2;
        }
    }
    return faas_main();
}
