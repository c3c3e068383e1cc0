/*
 * mandelbrot: escape-time iteration z <- z^2 + c in double precision over a
 * W x H grid covering the Mandelbrot set, up to MAX_ITER iterations per
 * point. The checksum covers each point's iteration count and final |z|^2.
 *
 * Exercises: f64 multiply/add/compare in a data-dependent loop with
 * unpredictable trip counts; little memory traffic.
 */
#include "common.h"

/* ---- kernel ---- */

#define MAX_ITER 256

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t width = quick ? 128 : 640;
    uint32_t height = width * 3 / 4;

    /* The region [-2.25, 0.75] x [-1.125, 1.125]. */
    const double x0 = -2.25, y0 = -1.125;
    const double step = 3.0 / (double)width;

    uint64_t h = CHECKSUM_INIT;
    uint64_t total = 0;
    for (uint32_t j = 0; j < height; j++) {
        double ci = y0 + step * (double)j;
        for (uint32_t i = 0; i < width; i++) {
            double cr = x0 + step * (double)i;
            double zr = 0.0, zi = 0.0, zr2 = 0.0, zi2 = 0.0;
            uint32_t iter = 0;
            while (iter < MAX_ITER && zr2 + zi2 <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                iter++;
            }
            total += iter;
            h = mix(h, iter);
            h = mix_f64(h, zr2 + zi2);
        }
    }
    h = mix(h, total);
    printf("checksum: %016llx\n", (unsigned long long)h);
    return 0;
}
