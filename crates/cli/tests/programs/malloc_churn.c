/* Allocator stress: many malloc/realloc/free of varying sizes driven by a
 * fixed-seed xorshift PRNG. Every block is filled with a pattern derived
 * from the PRNG and verified when freed or resized; a checksum of all the
 * verified data is printed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define ROUNDS 50000

static uint32_t rng = 0x12345678u;
static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static size_t pick_size(void) {
    uint32_t r = next();
    switch (r & 7) {
    case 0: return 1 + (r >> 8) % 32768; /* occasional big block */
    case 1:
    case 2: return 1 + (r >> 8) % 2048;
    default: return 1 + (r >> 8) % 128;
    }
}

struct slot { unsigned char *p; size_t n; unsigned char seed; };
static struct slot slots[SLOTS];
static uint64_t sum = 0;
static int bad = 0;

static void fill(struct slot *s, size_t from) {
    for (size_t i = from; i < s->n; i++)
        s->p[i] = (unsigned char)(s->seed + i * 31);
}

static void check(struct slot *s, size_t upto) {
    for (size_t i = 0; i < upto; i++) {
        unsigned char want = (unsigned char)(s->seed + i * 31);
        if (s->p[i] != want)
            bad++;
        sum = sum * 1000003u + s->p[i];
    }
}

int main(void) {
    for (int round = 0; round < ROUNDS; round++) {
        struct slot *s = &slots[next() % SLOTS];
        uint32_t op = next() % 3;
        if (!s->p) {
            s->n = pick_size();
            s->seed = (unsigned char)next();
            s->p = malloc(s->n);
            if (!s->p) { printf("malloc failed\n"); return 1; }
            fill(s, 0);
        } else if (op == 0) {
            check(s, s->n);
            free(s->p);
            s->p = NULL;
        } else if (op == 1) {
            size_t n = pick_size();
            size_t keep = n < s->n ? n : s->n;
            unsigned char *q = realloc(s->p, n);
            if (!q) { printf("realloc failed\n"); return 1; }
            s->p = q;
            check(s, keep);
            s->n = n;
            fill(s, keep);
        } else {
            /* touch a little: checksum the first few bytes */
            check(s, s->n < 16 ? s->n : 16);
        }
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) {
            check(&slots[i], slots[i].n);
            free(slots[i].p);
        }
    printf("rounds=%d checksum=%016llx corrupted=%d\n", ROUNDS, (unsigned long long)sum, bad);
    return bad ? 1 : 0;
}
