/*
 * radixsort: least-significant-digit radix sort of N u64 keys, one byte
 * per pass (8 counting passes between two buffers, all histograms built
 * in one prior scan; passes where every key has the same byte are
 * skipped). Two inputs: full 64-bit random keys and keys with only the
 * low 40 bits random. Each result is verified.
 *
 * Exercises: u64 loads and stores, scattered stores through a 256-entry
 * offset table, histogram increments (load-modify-store at a computed
 * address), shifts and masks.
 */
#include "common.h"

/* ---- kernel ---- */

#define DIGITS 8   /* bytes in a key */
#define BUCKETS 256

static uint32_t counts[DIGITS][BUCKETS];

/*
 * Sorts keys[0..n) using tmp[0..n) as scratch. Returns the buffer holding
 * the sorted keys (keys or tmp, depending on how many passes ran).
 */
static uint64_t *radix_sort(uint64_t *keys, uint64_t *tmp, uint32_t n, uint32_t *passes)
{
    memset(counts, 0, sizeof counts);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = keys[i];
        for (uint32_t d = 0; d < DIGITS; d++)
            counts[d][(k >> (8 * d)) & 0xFF]++;
    }

    uint64_t *src = keys, *dst = tmp;
    *passes = 0;
    for (uint32_t d = 0; d < DIGITS; d++) {
        uint32_t *c = counts[d];
        /* All keys share this byte: the pass would not move anything. */
        if (c[(src[0] >> (8 * d)) & 0xFF] == n)
            continue;
        /* Exclusive prefix sums: c[b] becomes the first slot of bucket b. */
        uint32_t sum = 0;
        for (uint32_t b = 0; b < BUCKETS; b++) {
            uint32_t cnt = c[b];
            c[b] = sum;
            sum += cnt;
        }
        unsigned shift = 8 * d;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t k = src[i];
            dst[c[(k >> shift) & 0xFF]++] = k;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
        (*passes)++;
    }
    return src;
}

/* Sorts keys, checks the order and folds the result into h. */
static uint64_t sort_and_check(uint64_t h, uint64_t *keys, uint64_t *tmp, uint32_t n)
{
    uint32_t passes;
    uint64_t *sorted = radix_sort(keys, tmp, n, &passes);
    h = mix(h, passes);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && sorted[i - 1] > sorted[i]) {
            fprintf(stderr, "radixsort: not sorted at %lu\n", (unsigned long)i);
            exit(1);
        }
        h = mix(h, sorted[i]);
    }
    return h;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t n = quick ? 30000 : 700000;

    uint64_t *keys = malloc((size_t)n * sizeof *keys);
    uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
    if (!keys || !tmp) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t h = CHECKSUM_INIT;

    for (uint32_t i = 0; i < n; i++)
        keys[i] = rng_next();
    h = sort_and_check(h, keys, tmp, n);

    /* Upper three bytes constant: those passes are skipped. */
    for (uint32_t i = 0; i < n; i++)
        keys[i] = 0xABC0000000000000ULL | (rng_next() >> 24);
    h = sort_and_check(h, keys, tmp, n);

    printf("checksum: %016llx\n", (unsigned long long)h);
    free(keys);
    free(tmp);
    return 0;
}
