/*
 * fib: the naive doubly recursive Fibonacci function, evaluated for every
 * n from 0 to N; the checksum folds in each value.
 *
 * Exercises: function calls and returns (about 3.5 * fib(N) of them), a
 * shallow but very busy call stack, u64 adds.
 */
#include "common.h"

/* ---- kernel ---- */

static uint64_t fib(uint32_t n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t max_n = quick ? 26 : 33;

    uint64_t h = CHECKSUM_INIT;
    uint64_t prev = 1, cur = 0; /* fib(-1), fib(0): for checking */
    for (uint32_t n = 0; n <= max_n; n++) {
        uint64_t f = fib(n);
        if (f != cur) {
            fprintf(stderr, "fib: wrong value for %u\n", (unsigned)n);
            return 1;
        }
        uint64_t next = prev + cur;
        prev = cur;
        cur = next;
        h = mix(h, f);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    return 0;
}
