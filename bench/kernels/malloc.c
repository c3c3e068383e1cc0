/*
 * malloc: allocator-heavy work. (1) Binary trees of many depths are built
 * node by node with malloc, walked and freed, while one long-lived tree
 * stays allocated. (2) A pool of slots is churned: each step frees the
 * block in a random slot (checking the tags written into it) and
 * allocates a new block of a random size (mostly small, some medium, a
 * few large), sometimes growing or shrinking a block with realloc.
 *
 * Exercises: the guest's malloc/free/realloc (free-list searches, block
 * splitting and coalescing, memory.grow), pointer-sized loads and stores,
 * recursion over trees.
 */
#include "common.h"

/* ---- kernel ---- */

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- part 1: binary trees ---- */

struct tree {
    struct tree *left, *right;
    uint32_t value;
};

/* A complete tree of the given depth, values numbered in pre-order. */
static struct tree *tree_build(uint32_t depth, uint32_t *counter)
{
    struct tree *t = xmalloc(sizeof *t);
    t->value = (*counter)++;
    if (depth == 0) {
        t->left = t->right = NULL;
    } else {
        t->left = tree_build(depth - 1, counter);
        t->right = tree_build(depth - 1, counter);
    }
    return t;
}

/* A hash of the tree's shape and values (left and right weigh differently). */
static uint32_t tree_hash(const struct tree *t)
{
    if (!t)
        return 1;
    uint32_t l = tree_hash(t->left);
    uint32_t r = tree_hash(t->right);
    return (t->value ^ (l * 31u)) + r * 17u;
}

static void tree_free(struct tree *t)
{
    if (!t)
        return;
    tree_free(t->left);
    tree_free(t->right);
    free(t);
}

/*
 * Builds, hashes and frees trees of depth 4, 6, ..., max_depth, with
 * 2^(budget_shift - depth) trees of each depth, i.e. about 2^(budget_shift+1)
 * nodes per depth (budget_shift >= max_depth), while a tree of depth
 * max_depth - 2 stays alive throughout.
 */
static uint64_t trees(uint64_t h, uint32_t max_depth, uint32_t budget_shift)
{
    uint32_t counter = 0;
    struct tree *keep = tree_build(max_depth - 2, &counter);
    for (uint32_t depth = 4; depth <= max_depth; depth += 2) {
        uint32_t count = 1u << (budget_shift - depth);
        uint32_t acc = 0;
        for (uint32_t k = 0; k < count; k++) {
            struct tree *t = tree_build(depth, &counter);
            acc = acc * 3u + tree_hash(t);
            tree_free(t);
        }
        h = mix(h, depth);
        h = mix(h, acc);
    }
    h = mix(h, tree_hash(keep));
    tree_free(keep);
    return h;
}

/* ---- part 2: churn of random-size blocks ---- */

/* Every block starts and ends with a 4-byte tag. */
struct block {
    unsigned char *p;
    uint32_t size;
    uint32_t tag;
};

static uint32_t random_size(void)
{
    uint32_t r = rng_below(100);
    if (r < 70)
        return 8 + rng_below(121); /* 8..128 */
    if (r < 96)
        return 128 + rng_below(3969); /* 128..4096 */
    return 4096 + rng_below(61441); /* 4096..65536 */
}

static void write_tags(struct block *b)
{
    memcpy(b->p, &b->tag, 4);
    memcpy(b->p + b->size - 4, &b->tag, 4);
}

/* Checks the tags and folds the block into h. */
static uint64_t retire(uint64_t h, const struct block *b)
{
    uint32_t head, tail;
    memcpy(&head, b->p, 4);
    memcpy(&tail, b->p + b->size - 4, 4);
    if (head != b->tag || tail != b->tag) {
        fprintf(stderr, "malloc: block corrupted\n");
        exit(1);
    }
    return mix(h, (uint64_t)b->size << 32 | head);
}

static uint64_t churn(uint64_t h, uint32_t slots, uint32_t steps)
{
    struct block *pool = xmalloc(slots * sizeof *pool);
    for (uint32_t s = 0; s < slots; s++)
        pool[s].p = NULL;

    for (uint32_t i = 0; i < steps; i++) {
        struct block *b = &pool[rng_below(slots)];
        if (b->p && rng_below(8) == 0) {
            /* Resize in place or move; the head tag survives either way. */
            uint32_t size = random_size();
            unsigned char *q = realloc(b->p, size);
            if (!q) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            b->p = q;
            b->size = size;
            write_tags(b);
            continue;
        }
        if (b->p) {
            h = retire(h, b);
            free(b->p);
        }
        b->size = random_size();
        b->tag = (uint32_t)(rng_next() >> 32);
        b->p = xmalloc(b->size);
        write_tags(b);
    }
    for (uint32_t s = 0; s < slots; s++) {
        if (pool[s].p) {
            h = retire(h, &pool[s]);
            free(pool[s].p);
        }
    }
    free(pool);
    return h;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t max_depth = quick ? 10 : 14;
    uint32_t budget_shift = quick ? 10 : 14;
    uint32_t slots = quick ? 1024 : 4096;
    uint32_t steps = quick ? 10000 : 400000;

    uint64_t h = CHECKSUM_INIT;
    h = trees(h, max_depth, budget_shift);
    h = churn(h, slots, steps);
    printf("checksum: %016llx\n", (unsigned long long)h);
    return 0;
}
