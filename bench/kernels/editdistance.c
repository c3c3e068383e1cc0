/*
 * editdistance: Levenshtein distance (unit-cost insert, delete, substitute)
 * by dynamic programming with one reusable row, between generated DNA-like
 * strings and mutated copies of them (random substitutions, insertions and
 * deletions), for several pairs, plus a few unrelated pairs.
 *
 * Exercises: a doubly nested loop of byte compares, u32 min-of-three
 * selects and row loads/stores with a loop-carried dependency.
 */
#include "common.h"

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
    int quick = quick_size(argc, argv);
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
