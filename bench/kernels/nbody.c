/*
 * nbody: gravitational N-body simulation in double precision: all-pairs
 * softened forces (each pair visited once, Newton's third law), then a
 * semi-implicit Euler step, for T steps. The total energy is computed
 * before and after; the checksum covers the energies and every final
 * position and velocity.
 *
 * Exercises: f64 multiply/add chains, sqrt and division in the inner pair
 * loop, loads and stores of struct fields.
 */
#include <math.h>
#include "common.h"

/* ---- kernel ---- */

#define SOFTENING2 0.0025 /* squared softening length */
#define DT 0.001

struct body {
    double x, y, z;
    double vx, vy, vz;
    double ax, ay, az;
    double mass;
};

/* Accelerations of all bodies (G = 1), each pair once. */
static void accelerations(struct body *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        b[i].ax = b[i].ay = b[i].az = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        struct body *bi = &b[i];
        double ax = bi->ax, ay = bi->ay, az = bi->az;
        for (uint32_t j = i + 1; j < n; j++) {
            struct body *bj = &b[j];
            double dx = bj->x - bi->x;
            double dy = bj->y - bi->y;
            double dz = bj->z - bi->z;
            double d2 = dx * dx + dy * dy + dz * dz + SOFTENING2;
            double inv3 = 1.0 / (d2 * sqrt(d2));
            double si = bj->mass * inv3; /* pull on i */
            double sj = bi->mass * inv3; /* pull on j */
            ax += dx * si;
            ay += dy * si;
            az += dz * si;
            bj->ax -= dx * sj;
            bj->ay -= dy * sj;
            bj->az -= dz * sj;
        }
        bi->ax = ax;
        bi->ay = ay;
        bi->az = az;
    }
}

static void step(struct body *b, uint32_t n)
{
    accelerations(b, n);
    for (uint32_t i = 0; i < n; i++) {
        b[i].vx += DT * b[i].ax;
        b[i].vy += DT * b[i].ay;
        b[i].vz += DT * b[i].az;
        b[i].x += DT * b[i].vx;
        b[i].y += DT * b[i].vy;
        b[i].z += DT * b[i].vz;
    }
}

/* Kinetic plus (softened) potential energy. */
static double energy(const struct body *b, uint32_t n)
{
    double e = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        const struct body *bi = &b[i];
        e += 0.5 * bi->mass * (bi->vx * bi->vx + bi->vy * bi->vy + bi->vz * bi->vz);
        for (uint32_t j = i + 1; j < n; j++) {
            double dx = b[j].x - bi->x;
            double dy = b[j].y - bi->y;
            double dz = b[j].z - bi->z;
            e -= bi->mass * b[j].mass / sqrt(dx * dx + dy * dy + dz * dz + SOFTENING2);
        }
    }
    return e;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t n = quick ? 64 : 128;
    uint32_t steps = quick ? 60 : 640;

    struct body *b = malloc(n * sizeof *b);
    if (!b) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* A cube of bodies with small random velocities and total mass 1. */
    for (uint32_t i = 0; i < n; i++) {
        b[i].x = 2.0 * rng_unit() - 1.0;
        b[i].y = 2.0 * rng_unit() - 1.0;
        b[i].z = 2.0 * rng_unit() - 1.0;
        b[i].vx = 0.2 * rng_unit() - 0.1;
        b[i].vy = 0.2 * rng_unit() - 0.1;
        b[i].vz = 0.2 * rng_unit() - 0.1;
        b[i].mass = (0.5 + rng_unit()) / (double)n;
    }

    uint64_t h = CHECKSUM_INIT;
    h = mix_f64(h, energy(b, n));
    for (uint32_t s = 0; s < steps; s++)
        step(b, n);
    h = mix_f64(h, energy(b, n));
    for (uint32_t i = 0; i < n; i++) {
        h = mix_f64(h, b[i].x);
        h = mix_f64(h, b[i].y);
        h = mix_f64(h, b[i].z);
        h = mix_f64(h, b[i].vx);
        h = mix_f64(h, b[i].vy);
        h = mix_f64(h, b[i].vz);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    free(b);
    return 0;
}
