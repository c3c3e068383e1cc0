/*
 * matmul: dense double-precision matrix multiply C = A * B of two N x N
 * row-major matrices, in i-k-j loop order, followed by a second product
 * D = C * A so the result depends on the first.
 *
 * Exercises: f64 loads, multiplies, adds and stores in a tight triple loop;
 * linear-memory address arithmetic with a unit-stride inner loop.
 */
#include "common.h"

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
    int quick = quick_size(argc, argv);
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
