/*
 * editdistance: Levenshtein distance (unit-cost insert, delete, substitute)
 * by dynamic programming with one reusable row, between generated DNA-like
 * strings and mutated copies of them (random substitutions, insertions and
 * deletions), for several pairs, plus a few unrelated pairs.
 *
 * Exercises: a doubly nested loop of byte compares, u32 min-of-three
 * selects and row loads/stores with a loop-carried dependency.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic PRNG and checksum (the same in every kernel) ---- */

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

/* splitmix64 with a fixed seed: the same sequence on every platform. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n) for 0 < n <= 2^32 - 1. */
static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)(((rng_next() >> 32) * (uint64_t)n) >> 32);
}

#define CHECKSUM_INIT 0xCBF29CE484222325ULL

/* Fold one 64-bit word into a running checksum (order-sensitive). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 32);
}

/* ---- kernel ---- */

static const char ALPHABET[4] = {'A', 'C', 'G', 'T'};

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void random_string(char *s, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        s[i] = ALPHABET[rng_below(4)];
}

/*
 * Copies src into dst with about one edit per `rate` characters (a third
 * each substitutions, insertions, deletions). dst must hold 2 * len bytes.
 * Returns the length of dst.
 */
static uint32_t mutate(const char *src, uint32_t len, char *dst, uint32_t rate)
{
    uint32_t out = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (rng_below(rate) != 0) {
            dst[out++] = src[i];
            continue;
        }
        switch (rng_below(3)) {
        case 0: /* substitute */
            dst[out++] = ALPHABET[rng_below(4)];
            break;
        case 1: /* insert before */
            dst[out++] = ALPHABET[rng_below(4)];
            dst[out++] = src[i];
            break;
        default: /* delete */
            break;
        }
    }
    return out;
}

/* Levenshtein distance of a[0..n) and b[0..m); row has m + 1 entries. */
static uint32_t levenshtein(const char *a, uint32_t n, const char *b, uint32_t m, uint32_t *row)
{
    for (uint32_t j = 0; j <= m; j++)
        row[j] = j;
    for (uint32_t i = 1; i <= n; i++) {
        uint32_t diag = row[0]; /* D[i-1][j-1] */
        row[0] = i;
        char ai = a[i - 1];
        for (uint32_t j = 1; j <= m; j++) {
            uint32_t up = row[j]; /* D[i-1][j] */
            uint32_t best = diag + (ai != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[m];
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [quick]\n", argv[0]);
        return 2;
    }
    uint32_t len = quick ? 400 : 1550;
    uint32_t pairs = quick ? 4 : 8;

    char *a = xmalloc(len);
    char *b = xmalloc(2 * (size_t)len);
    uint32_t *row = xmalloc((2 * (size_t)len + 1) * sizeof *row);

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t p = 0; p < pairs; p++) {
        random_string(a, len);
        uint32_t blen;
        if (p % 4 == 3) {
            /* Unrelated strings of a different length. */
            blen = len - len / 8;
            random_string(b, blen);
        } else {
            /* Edit rates of 1/4, 1/16 and 1/64. */
            blen = mutate(a, len, b, 4u << (2 * (p % 4)));
        }
        uint32_t d = levenshtein(a, len, b, blen, row);
        h = mix(h, blen);
        h = mix(h, d);
        /* The last DP row: distances from a to every prefix of b. */
        uint64_t last = 0;
        for (uint32_t j = 0; j <= blen; j++)
            last = last * 0x100000001B3ULL + row[j];
        h = mix(h, last);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(a);
    free(b);
    free(row);
    return 0;
}
