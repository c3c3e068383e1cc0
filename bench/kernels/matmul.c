/*
 * matmul: dense double-precision matrix multiply C = A * B of two N x N
 * row-major matrices, in i-k-j loop order, followed by a second product
 * D = C * A so the result depends on the first.
 *
 * Exercises: f64 loads, multiplies, adds and stores in a tight triple loop;
 * linear-memory address arithmetic with a unit-stride inner loop.
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

/* c = a * b for n x n row-major matrices. */
static void matmul(uint32_t n, const double *a, const double *b, double *c)
{
    for (uint32_t i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (uint32_t j = 0; j < n; j++)
            ci[j] = 0.0;
        for (uint32_t k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *bk = b + (size_t)k * n;
            for (uint32_t j = 0; j < n; j++)
                ci[j] += aik * bk[j];
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
    uint32_t n = quick ? 64 : 236;

    size_t cells = (size_t)n * n;
    double *a = malloc(cells * sizeof *a);
    double *b = malloc(cells * sizeof *b);
    double *c = malloc(cells * sizeof *c);
    double *d = malloc(cells * sizeof *d);
    if (!a || !b || !c || !d) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < cells; i++)
        a[i] = 2.0 * rng_unit() - 1.0;
    for (size_t i = 0; i < cells; i++)
        b[i] = 2.0 * rng_unit() - 1.0;

    matmul(n, a, b, c);
    matmul(n, c, a, d);

    uint64_t h = CHECKSUM_INIT;
    for (size_t i = 0; i < cells; i++)
        h = mix_f64(h, c[i]);
    for (size_t i = 0; i < cells; i++)
        h = mix_f64(h, d[i]);
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(a);
    free(b);
    free(c);
    free(d);
    return 0;
}
