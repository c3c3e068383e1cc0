/*
 * ackermann: the Ackermann-Peter function A(m, n) by plain recursion, for
 * A(2, n) over a range of n (n <= 800) and A(3, n) for n = 0..N (N <= 9,
 * so the recursion stays below about 4,100 frames), counting every call.
 * Results are checked against the closed forms A(2, n) = 2n + 3 and
 * A(3, n) = 2^(n+3) - 3.
 *
 * Exercises: deep recursion (thousands of live frames), call/return with
 * two arguments, a stack that grows and shrinks constantly.
 */
#include "common.h"

/* ---- kernel ---- */

static uint64_t calls;

static uint32_t ack(uint32_t m, uint32_t n)
{
    calls++;
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t max_n3 = quick ? 7 : 9;     /* A(3, n) for n = 0..max_n3 */
    uint32_t max_n2 = quick ? 200 : 800; /* A(2, n) for n = 0, 50, ..., max_n2 */

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t n = 0; n <= max_n2; n += 50) {
        calls = 0;
        uint32_t a = ack(2, n);
        if (a != 2 * n + 3) {
            fprintf(stderr, "ackermann: wrong A(2, %u)\n", (unsigned)n);
            return 1;
        }
        h = mix(h, a);
        h = mix(h, calls);
    }
    for (uint32_t n = 0; n <= max_n3; n++) {
        calls = 0;
        uint32_t a = ack(3, n);
        if (a != (1u << (n + 3)) - 3) {
            fprintf(stderr, "ackermann: wrong A(3, %u)\n", (unsigned)n);
            return 1;
        }
        h = mix(h, a);
        h = mix(h, calls);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    return 0;
}
