/*
 * quicksort: sorts arrays of N u32 values with a hand-written quicksort
 * (median-of-three pivot, Hoare partition, insertion sort for short
 * ranges, recursion on the smaller side only). Three inputs: uniformly
 * random, many duplicates, and nearly sorted. Each result is verified.
 *
 * Exercises: data-dependent branches, u32 loads/stores with swaps,
 * moderate recursion, an inner loop of compares and increments.
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

#define INSERTION_CUTOFF 16

static void swap_u32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sorts v[0..n). */
static void quicksort(uint32_t *v, size_t n)
{
    while (n > INSERTION_CUTOFF) {
        /* Median of first, middle and last becomes the pivot value. */
        size_t mid = n / 2;
        if (v[mid] < v[0])
            swap_u32(&v[mid], &v[0]);
        if (v[n - 1] < v[0])
            swap_u32(&v[n - 1], &v[0]);
        if (v[n - 1] < v[mid])
            swap_u32(&v[n - 1], &v[mid]);
        uint32_t pivot = v[mid];

        /* Hoare partition: v[0..j] <= pivot <= v[j+1..n). */
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap_u32(&v[i], &v[j]);
            i++;
            j--;
        }
        size_t left = j + 1;
        /* Recurse into the smaller part, loop on the larger. */
        if (left < n - left) {
            quicksort(v, left);
            v += left;
            n -= left;
        } else {
            quicksort(v + left, n - left);
            n = left;
        }
    }
    insertion_sort(v, n);
}

/* Sorts v, checks the order and folds the result into h. */
static uint64_t sort_and_check(uint64_t h, uint32_t *v, size_t n)
{
    quicksort(v, n);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && v[i - 1] > v[i]) {
            fprintf(stderr, "quicksort: not sorted at %lu\n", (unsigned long)i);
            exit(1);
        }
        h = mix(h, v[i]);
    }
    return h;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [quick]\n", argv[0]);
        return 2;
    }
    size_t n = quick ? 20000 : 450000;

    uint32_t *v = malloc(n * sizeof *v);
    if (!v) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t h = CHECKSUM_INIT;

    /* Uniformly random. */
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)(rng_next() >> 32);
    h = sort_and_check(h, v, n);

    /* Many duplicates: only 1000 distinct values. */
    for (size_t i = 0; i < n; i++)
        v[i] = rng_below(1000);
    h = sort_and_check(h, v, n);

    /* Nearly sorted: ascending with 1% random swaps. */
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)i * 7u;
    for (size_t k = 0; k < n / 100; k++)
        swap_u32(&v[rng_below((uint32_t)n)], &v[rng_below((uint32_t)n)]);
    h = sort_and_check(h, v, n);

    printf("checksum: %016llx\n", (unsigned long long)h);
    free(v);
    return 0;
}
