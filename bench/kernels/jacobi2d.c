/*
 * jacobi2d: Jacobi relaxation on an N x N grid of doubles with a 5-point
 * stencil (each interior point becomes the average of itself and its four
 * neighbours), T sweeps ping-ponging between two grids. The edges hold
 * fixed boundary values.
 *
 * Exercises: f64 loads from three neighbouring rows and stores to a second
 * array, a doubly nested loop repeated many times, streaming memory access.
 */
#include "common.h"

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
    int quick = quick_size(argc, argv);
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
