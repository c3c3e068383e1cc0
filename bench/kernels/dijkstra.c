/*
 * dijkstra: single-source shortest paths with Dijkstra's algorithm and an
 * indexed binary min-heap (decrease-key in place) on a generated directed
 * graph with positive integer weights, stored in CSR form, from several
 * sources. A ring of edges keeps every vertex reachable.
 *
 * Exercises: heap sift-up/sift-down loops with unpredictable branches,
 * irregular u32 and u64 loads and stores (positions, distances, edges),
 * 64-bit compares and adds.
 */
#include "common.h"

/* ---- kernel ---- */

#define INF UINT64_MAX
#define NOT_IN_HEAP UINT32_MAX
#define MAX_WEIGHT 1000

struct graph {
    uint32_t nv;
    uint32_t *offsets; /* out-edges of v: [offsets[v], offsets[v+1]) */
    uint32_t *target;
    uint32_t *weight;
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

/* Each vertex gets a ring edge to v+1 and `extra` random out-edges. Since
 * edges are generated vertex by vertex, the CSR arrays fill in order. */
static struct graph make_graph(uint32_t nv, uint32_t extra)
{
    struct graph g;
    size_t ne = (size_t)nv * (extra + 1);
    g.nv = nv;
    g.offsets = xmalloc(((size_t)nv + 1) * sizeof *g.offsets);
    g.target = xmalloc(ne * sizeof *g.target);
    g.weight = xmalloc(ne * sizeof *g.weight);
    uint32_t e = 0;
    for (uint32_t v = 0; v < nv; v++) {
        g.offsets[v] = e;
        g.target[e] = (v + 1) % nv;
        g.weight[e] = MAX_WEIGHT / 2 + rng_below(MAX_WEIGHT / 2) + 1;
        e++;
        for (uint32_t k = 0; k < extra; k++) {
            g.target[e] = rng_below(nv);
            g.weight[e] = rng_below(MAX_WEIGHT) + 1;
            e++;
        }
    }
    g.offsets[nv] = e;
    return g;
}

/* Indexed binary min-heap of vertices ordered by (dist, vertex). */
struct heap {
    uint32_t size;
    uint32_t *items; /* heap order */
    uint32_t *pos;   /* pos[v]: index of v in items, or NOT_IN_HEAP */
    const uint64_t *dist;
};

static int before(const struct heap *h, uint32_t a, uint32_t b)
{
    uint64_t da = h->dist[a], db = h->dist[b];
    return da < db || (da == db && a < b);
}

static void place(struct heap *h, uint32_t i, uint32_t v)
{
    h->items[i] = v;
    h->pos[v] = i;
}

static void sift_up(struct heap *h, uint32_t i)
{
    uint32_t v = h->items[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        uint32_t p = h->items[parent];
        if (!before(h, v, p))
            break;
        place(h, i, p);
        i = parent;
    }
    place(h, i, v);
}

static void sift_down(struct heap *h, uint32_t i)
{
    uint32_t v = h->items[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->size)
            break;
        if (child + 1 < h->size && before(h, h->items[child + 1], h->items[child]))
            child++;
        uint32_t c = h->items[child];
        if (!before(h, c, v))
            break;
        place(h, i, c);
        i = child;
    }
    place(h, i, v);
}

static void push_or_decrease(struct heap *h, uint32_t v)
{
    if (h->pos[v] == NOT_IN_HEAP) {
        place(h, h->size, v);
        h->size++;
    }
    sift_up(h, h->pos[v]);
}

static uint32_t pop_min(struct heap *h)
{
    uint32_t top = h->items[0];
    h->pos[top] = NOT_IN_HEAP;
    h->size--;
    if (h->size > 0) {
        place(h, 0, h->items[h->size]);
        sift_down(h, 0);
    }
    return top;
}

/* Fills dist with shortest distances from source; returns edge relaxations. */
static uint32_t dijkstra(const struct graph *g, uint32_t source, uint64_t *dist, struct heap *h)
{
    uint32_t relaxed = 0;
    for (uint32_t v = 0; v < g->nv; v++) {
        dist[v] = INF;
        h->pos[v] = NOT_IN_HEAP;
    }
    h->size = 0;
    dist[source] = 0;
    push_or_decrease(h, source);
    while (h->size > 0) {
        uint32_t u = pop_min(h);
        uint64_t du = dist[u];
        for (uint32_t i = g->offsets[u]; i < g->offsets[u + 1]; i++) {
            uint32_t v = g->target[i];
            uint64_t nd = du + g->weight[i];
            if (nd < dist[v]) {
                dist[v] = nd;
                push_or_decrease(h, v);
                relaxed++;
            }
        }
    }
    return relaxed;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t nv = quick ? 5000 : 50000;
    uint32_t extra = 5;
    uint32_t sources = quick ? 2 : 5;

    struct graph g = make_graph(nv, extra);
    uint64_t *dist = xmalloc((size_t)nv * sizeof *dist);
    struct heap heap;
    heap.items = xmalloc((size_t)nv * sizeof *heap.items);
    heap.pos = xmalloc((size_t)nv * sizeof *heap.pos);
    heap.dist = dist;

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t s = 0; s < sources; s++) {
        uint32_t relaxed = dijkstra(&g, rng_below(nv), dist, &heap);
        uint64_t total = 0, farthest = 0, weighted = 0;
        for (uint32_t v = 0; v < nv; v++) {
            total += dist[v];
            weighted += dist[v] * (v + 1);
            if (dist[v] > farthest)
                farthest = dist[v];
        }
        h = mix(h, relaxed);
        h = mix(h, total);
        h = mix(h, weighted);
        h = mix(h, farthest);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(g.offsets);
    free(g.target);
    free(g.weight);
    free(dist);
    free(heap.items);
    free(heap.pos);
    return 0;
}
