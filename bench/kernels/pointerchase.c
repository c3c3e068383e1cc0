/*
 * pointerchase: N nodes linked by real pointers into a single cycle in a
 * random order (Sattolo's shuffle), walked from a fixed start for many
 * laps, each step folding the node's payload into an order-sensitive hash.
 * Halfway through, the links are reversed and the walk goes on backwards.
 *
 * Exercises: dependent, unpredictable loads (each address comes from the
 * previous load) over several MiB, pointer-sized loads and stores.
 */
#include "common.h"

/* ---- kernel ---- */

struct node {
    struct node *next;
    uint32_t value;
    uint32_t id; /* index in the node array */
};

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* Walks `steps` links from *start, returning an order-sensitive hash of
 * the values seen; *start becomes the node reached. */
static uint32_t walk(struct node **start, uint32_t steps)
{
    struct node *p = *start;
    uint32_t acc = 0;
    for (uint32_t i = 0; i < steps; i++) {
        p = p->next;
        acc = (acc ^ p->value) * 16777619u;
    }
    *start = p;
    return acc;
}

/* Reverses every link of the cycle. */
static void reverse_cycle(struct node *start)
{
    struct node *prev = start, *cur = start->next;
    do {
        struct node *next = cur->next;
        cur->next = prev;
        prev = cur;
        cur = next;
    } while (prev != start);
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t n = quick ? 1u << 16 : 1u << 19;
    uint32_t laps = quick ? 4 : 10;

    struct node *nodes = xmalloc((size_t)n * sizeof *nodes);
    uint32_t *perm = xmalloc((size_t)n * sizeof *perm);

    /* Sattolo's algorithm: a uniformly random permutation with one cycle. */
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_below(i);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < n; i++) {
        nodes[i].next = &nodes[perm[i]];
        nodes[i].value = (uint32_t)(rng_next() >> 32);
        nodes[i].id = i;
    }
    free(perm);

    uint64_t h = CHECKSUM_INIT;
    struct node *p = &nodes[0];
    /* Chunks that are not a multiple of n, so every lap ends elsewhere. */
    uint32_t chunk = n / 3 + 1;
    uint64_t total = (uint64_t)laps * n;
    int reversed = 0;
    for (uint64_t done = 0; done < total; done += chunk) {
        if (!reversed && done >= total / 2) {
            reverse_cycle(p);
            reversed = 1;
        }
        h = mix(h, walk(&p, chunk));
        h = mix(h, p->id);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    free(nodes);
    return 0;
}
