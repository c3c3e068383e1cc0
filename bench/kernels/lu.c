/*
 * lu: in-place LU decomposition with partial (row) pivoting of a dense
 * N x N double matrix, P * A = L * U, done twice on different matrices.
 * The checksum covers the pivot order and every entry of L and U.
 *
 * Exercises: f64 arithmetic and divides, fabs-based pivot search down a
 * column (strided loads), whole-row swaps, a shrinking triple loop.
 */
#include <math.h>
#include "common.h"

/* ---- kernel ---- */

/*
 * Factor the n x n row-major matrix a in place: afterwards the strict lower
 * triangle holds L (unit diagonal implied) and the upper triangle holds U.
 * piv[k] is the row swapped with row k at step k. Returns the number of
 * row swaps, or -1 if a zero pivot column was found.
 */
static int lu_factor(uint32_t n, double *a, uint32_t *piv)
{
    int swaps = 0;
    for (uint32_t k = 0; k < n; k++) {
        /* Pivot: the largest magnitude in column k at or below the diagonal. */
        uint32_t p = k;
        double best = fabs(a[(size_t)k * n + k]);
        for (uint32_t i = k + 1; i < n; i++) {
            double v = fabs(a[(size_t)i * n + k]);
            if (v > best) {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if (best == 0.0)
            return -1;
        if (p != k) {
            double *rk = a + (size_t)k * n;
            double *rp = a + (size_t)p * n;
            for (uint32_t j = 0; j < n; j++) {
                double t = rk[j];
                rk[j] = rp[j];
                rp[j] = t;
            }
            swaps++;
        }

        /* Eliminate below the pivot and update the trailing submatrix. */
        const double *rk = a + (size_t)k * n;
        double pivot = rk[k];
        for (uint32_t i = k + 1; i < n; i++) {
            double *ri = a + (size_t)i * n;
            double l = ri[k] / pivot;
            ri[k] = l;
            for (uint32_t j = k + 1; j < n; j++)
                ri[j] -= l * rk[j];
        }
    }
    return swaps;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t n = quick ? 80 : 320;
    const uint32_t matrices = 2;

    size_t cells = (size_t)n * n;
    double *a = malloc(cells * sizeof *a);
    uint32_t *piv = malloc(n * sizeof *piv);
    if (!a || !piv) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t m = 0; m < matrices; m++) {
        for (size_t i = 0; i < cells; i++)
            a[i] = 2.0 * rng_unit() - 1.0;
        int swaps = lu_factor(n, a, piv);
        if (swaps < 0) {
            fprintf(stderr, "lu: singular matrix\n");
            return 1;
        }
        h = mix(h, (uint64_t)swaps);
        for (uint32_t k = 0; k < n; k++)
            h = mix(h, piv[k]);
        for (size_t i = 0; i < cells; i++)
            h = mix_f64(h, a[i]);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(a);
    free(piv);
    return 0;
}
