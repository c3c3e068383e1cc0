/*
 * quicksort: sorts arrays of N u32 values with a hand-written quicksort
 * (median-of-three pivot, Hoare partition, insertion sort for short
 * ranges, recursion on the smaller side only). Three inputs: uniformly
 * random, many duplicates, and nearly sorted. Each result is verified.
 *
 * Exercises: data-dependent branches, u32 loads/stores with swaps,
 * moderate recursion, an inner loop of compares and increments.
 */
#include "common.h"

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
    int quick = quick_size(argc, argv);
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
