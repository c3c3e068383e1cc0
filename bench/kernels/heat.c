/*
 * heat: explicit finite-difference solution of the 3-D heat equation on an
 * N x N x N grid of doubles (7-point stencil, forward Euler in time), with
 * zero-temperature faces and a constant heat source in a small central
 * block; T time steps. The checksum covers the final field and its total.
 *
 * Exercises: f64 stencil arithmetic with three strides (1, N, N*N), so the
 * loads touch three planes; a triply nested loop repeated many times.
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

/* Diffusion number alpha * dt / dx^2; explicit 3-D is stable up to 1/6. */
#define R 0.125
/* Heat added per step to each cell of the central source block. */
#define SOURCE 1.0

/*
 * One time step: dst's interior from src. Faces stay at zero (both grids
 * start with zero faces and only interior cells are written).
 */
static void heat_step(uint32_t n, const double *src, double *dst)
{
    size_t sy = n, sz = (size_t)n * n;
    uint32_t lo = n / 2 - 2, hi = n / 2 + 2; /* source block [lo, hi) */
    for (uint32_t z = 1; z + 1 < n; z++) {
        for (uint32_t y = 1; y + 1 < n; y++) {
            size_t row = z * sz + y * sy;
            int src_row = z >= lo && z < hi && y >= lo && y < hi;
            for (uint32_t x = 1; x + 1 < n; x++) {
                size_t c = row + x;
                double u = src[c];
                double lap = src[c - 1] + src[c + 1] + src[c - sy] + src[c + sy] +
                             src[c - sz] + src[c + sz] - 6.0 * u;
                double v = u + R * lap;
                if (src_row && x >= lo && x < hi)
                    v += SOURCE;
                dst[c] = v;
            }
        }
    }
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [quick]\n", argv[0]);
        return 2;
    }
    uint32_t n = quick ? 32 : 64;
    uint32_t steps = quick ? 10 : 22;

    size_t cells = (size_t)n * n * n;
    double *a = calloc(cells, sizeof *a);
    double *b = calloc(cells, sizeof *b);
    if (!a || !b) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    /* Random initial temperatures in the interior; faces at zero. */
    for (uint32_t z = 1; z + 1 < n; z++)
        for (uint32_t y = 1; y + 1 < n; y++)
            for (uint32_t x = 1; x + 1 < n; x++)
                a[((size_t)z * n + y) * n + x] = 10.0 * rng_unit();

    for (uint32_t t = 0; t < steps; t++) {
        heat_step(n, a, b);
        double *tmp = a;
        a = b;
        b = tmp;
    }

    uint64_t h = CHECKSUM_INIT;
    double total = 0.0;
    for (size_t i = 0; i < cells; i++) {
        h = mix_f64(h, a[i]);
        total += a[i];
    }
    h = mix_f64(h, total);
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(a);
    free(b);
    return 0;
}
