/*
 * hashtable: an open-addressing hash map from u64 keys to u64 values with
 * linear probing, Fibonacci hashing and backward-shift deletion (no
 * tombstones). Several rounds of N upserts, N lookups (about half of them
 * misses) and N/2 deletes over a bounded key space, then a scan of the
 * final table.
 *
 * Exercises: 64-bit multiplies and shifts, probe loops with unpredictable
 * branches, random-access 16-byte loads and stores over a table of several
 * MiB.
 */
#include "common.h"

/* ---- kernel ---- */

struct slot {
    uint64_t key; /* 0 marks an empty slot */
    uint64_t value;
};

struct table {
    struct slot *slots;
    uint32_t bits; /* capacity is 2^bits */
    uint32_t mask;
    uint32_t count;
};

/* Home slot of a key: the top bits of key * 2^64/phi. */
static uint32_t home(const struct table *t, uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - t->bits));
}

/* Adds value to key's entry, creating it if absent. Returns 1 if created. */
static int upsert(struct table *t, uint64_t key, uint64_t value)
{
    uint32_t i = home(t, key);
    while (t->slots[i].key != 0) {
        if (t->slots[i].key == key) {
            t->slots[i].value += value;
            return 0;
        }
        i = (i + 1) & t->mask;
    }
    t->slots[i].key = key;
    t->slots[i].value = value;
    t->count++;
    return 1;
}

/* Returns the slot holding key, or -1. */
static int64_t find(const struct table *t, uint64_t key)
{
    uint32_t i = home(t, key);
    while (t->slots[i].key != 0) {
        if (t->slots[i].key == key)
            return i;
        i = (i + 1) & t->mask;
    }
    return -1;
}

/* Removes key if present, shifting later entries of its probe run back. */
static int erase(struct table *t, uint64_t key)
{
    int64_t found = find(t, key);
    if (found < 0)
        return 0;
    uint32_t hole = (uint32_t)found;
    uint32_t j = hole;
    for (;;) {
        j = (j + 1) & t->mask;
        uint64_t k = t->slots[j].key;
        if (k == 0)
            break;
        /* The entry at j may fill the hole if the hole lies on its probe
         * path, i.e. is no further from j than its home slot is. */
        uint32_t h = home(t, k);
        if (((j - h) & t->mask) >= ((j - hole) & t->mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].key = 0;
    t->slots[hole].value = 0;
    t->count--;
    return 1;
}

/* A distinct, well-spread, non-zero key for each index (murmur3 finaliser
 * is a bijection with fmix(0) = 0, so x + 1 never maps to 0). */
static uint64_t key_of(uint32_t x)
{
    uint64_t k = (uint64_t)x + 1;
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t bits = quick ? 15 : 19;
    uint32_t space = 1u << (bits - 1); /* distinct keys: load factor <= 1/2 */
    uint32_t ops = space;
    uint32_t rounds = quick ? 3 : 4;

    struct table t;
    t.bits = bits;
    t.mask = (1u << bits) - 1;
    t.count = 0;
    t.slots = calloc((size_t)1 << bits, sizeof *t.slots);
    if (!t.slots) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t created = 0, hits = 0, erased = 0;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < ops; i++)
            created += upsert(&t, key_of(rng_below(space)), (uint64_t)i * 3 + r);
        for (uint32_t i = 0; i < ops; i++) {
            int64_t s = find(&t, key_of(rng_below(2 * space)));
            if (s >= 0) {
                hits++;
                sum += t.slots[s].value;
            }
        }
        for (uint32_t i = 0; i < ops / 2; i++)
            erased += erase(&t, key_of(rng_below(space)));
        h = mix(h, created);
        h = mix(h, hits);
        h = mix(h, sum);
        h = mix(h, erased);
        h = mix(h, t.count);
    }

    /* The final layout: every slot in order, each entry reachable. */
    uint32_t live = 0;
    for (uint32_t i = 0; i <= t.mask; i++) {
        if (t.slots[i].key != 0) {
            if (find(&t, t.slots[i].key) != i) {
                fprintf(stderr, "hashtable: entry in slot %lu unreachable\n", (unsigned long)i);
                return 1;
            }
            live++;
            h = mix(h, t.slots[i].key);
            h = mix(h, t.slots[i].value);
        }
    }
    if (live != t.count) {
        fprintf(stderr, "hashtable: count mismatch\n");
        return 1;
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    free(t.slots);
    return 0;
}
