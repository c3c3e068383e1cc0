/*
 * jacobi2d: Jacobi relaxation on an N x N grid of doubles with a 5-point
 * stencil (each interior point becomes the average of itself and its four
 * neighbours), T sweeps ping-ponging between two grids. The edges hold
 * fixed boundary values.
 *
 * Exercises: f64 loads from three neighbouring rows and stores to a second
 * array, a doubly nested loop repeated many times, streaming memory access.
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

/* Uniform double in [0, 1) made of 53 random bits (exact conversion). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

#define CHECKSUM_INIT 0xCBF29CE484222325ULL

/* Fold one 64-bit word into a running checksum (order-sensitive). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 32);
}

/* Fold the IEEE-754 bits of a double into a running checksum. */
static uint64_t mix_f64(uint64_t h, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix(h, bits);
}

/* ---- kernel ---- */

/* One sweep: dst's interior from src's 5-point neighbourhoods. */
static void jacobi_sweep(uint32_t n, const double *src, double *dst)
{
    for (uint32_t i = 1; i + 1 < n; i++) {
        const double *up = src + (size_t)(i - 1) * n;
        const double *mid = src + (size_t)i * n;
        const double *down = src + (size_t)(i + 1) * n;
        double *out = dst + (size_t)i * n;
        for (uint32_t j = 1; j + 1 < n; j++)
            out[j] = 0.2 * (mid[j] + mid[j - 1] + mid[j + 1] + up[j] + down[j]);
    }
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [quick]\n", argv[0]);
        return 2;
    }
    uint32_t n = quick ? 128 : 512;
    uint32_t sweeps = quick ? 20 : 42;

    size_t cells = (size_t)n * n;
    double *a = malloc(cells * sizeof *a);
    double *b = malloc(cells * sizeof *b);
    if (!a || !b) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* Random interior; boundary: a hot top edge, cold bottom, ramps at the sides. */
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            double v;
            if (i == 0)
                v = 100.0;
            else if (i == n - 1)
                v = 0.0;
            else if (j == 0 || j == n - 1)
                v = 100.0 * (double)(n - 1 - i) / (double)(n - 1);
            else
                v = 50.0 * rng_unit();
            a[(size_t)i * n + j] = v;
        }
    }
    memcpy(b, a, cells * sizeof *a);

    for (uint32_t t = 0; t < sweeps; t++) {
        jacobi_sweep(n, a, b);
        double *tmp = a;
        a = b;
        b = tmp;
    }

    uint64_t h = CHECKSUM_INIT;
    for (size_t i = 0; i < cells; i++)
        h = mix_f64(h, a[i]);
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(a);
    free(b);
    return 0;
}
