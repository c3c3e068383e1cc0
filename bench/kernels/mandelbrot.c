/*
 * mandelbrot: escape-time iteration z <- z^2 + c in double precision over a
 * W x H grid covering the Mandelbrot set, up to MAX_ITER iterations per
 * point. The checksum covers each point's iteration count and final |z|^2.
 *
 * Exercises: f64 multiply/add/compare in a data-dependent loop with
 * unpredictable trip counts; little memory traffic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checksum (the same in every kernel) ---- */

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

#define MAX_ITER 256

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (argc > 2 || (argc == 2 && !quick)) {
        fprintf(stderr, "usage: %s [quick]\n", argv[0]);
        return 2;
    }
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
