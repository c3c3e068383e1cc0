/*
 * heat: explicit finite-difference solution of the 3-D heat equation on an
 * N x N x N grid of doubles (7-point stencil, forward Euler in time), with
 * zero-temperature faces and a constant heat source in a small central
 * block; T time steps. The checksum covers the final field and its total.
 *
 * Exercises: f64 stencil arithmetic with three strides (1, N, N*N), so the
 * loads touch three planes; a triply nested loop repeated many times.
 */
#include "common.h"

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
    int quick = quick_size(argc, argv);
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
