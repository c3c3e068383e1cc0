/*
 * bfs: breadth-first search over a generated undirected "small world"
 * graph (half the edges join nearby vertices, half join random ones),
 * stored in compressed sparse row (CSR) form, from several sources. Each
 * search yields hop distances; the checksum covers how many vertices were
 * reached, their distances and the order in which they were visited.
 *
 * Exercises: irregular, data-dependent u32 loads (neighbour lists, the
 * distance array), a FIFO queue in an array, counting-sort graph
 * construction.
 */
#include "common.h"

/* ---- kernel ---- */

#define UNREACHED UINT32_MAX

struct graph {
    uint32_t nv;
    uint32_t *offsets; /* nv + 1 entries: neighbours of v are adj[offsets[v] .. offsets[v+1]) */
    uint32_t *adj;
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

/* Generates ne undirected edges on nv vertices and builds the CSR form. */
static struct graph make_graph(uint32_t nv, uint32_t ne)
{
    uint32_t *src = xmalloc((size_t)ne * sizeof *src);
    uint32_t *dst = xmalloc((size_t)ne * sizeof *dst);
    for (uint32_t e = 0; e < ne; e++) {
        uint32_t u = rng_below(nv);
        uint32_t v;
        if (rng_next() & 1)
            v = (u + 1 + rng_below(64)) % nv; /* local edge */
        else
            v = rng_below(nv); /* long-range edge */
        src[e] = u;
        dst[e] = v;
    }

    struct graph g;
    g.nv = nv;
    g.offsets = xmalloc(((size_t)nv + 1) * sizeof *g.offsets);
    g.adj = xmalloc((size_t)ne * 2 * sizeof *g.adj);

    /* Degrees, then exclusive prefix sums, then placement (both directions). */
    memset(g.offsets, 0, ((size_t)nv + 1) * sizeof *g.offsets);
    for (uint32_t e = 0; e < ne; e++) {
        g.offsets[src[e] + 1]++;
        g.offsets[dst[e] + 1]++;
    }
    for (uint32_t v = 0; v < nv; v++)
        g.offsets[v + 1] += g.offsets[v];
    uint32_t *fill = xmalloc((size_t)nv * sizeof *fill);
    memcpy(fill, g.offsets, (size_t)nv * sizeof *fill);
    for (uint32_t e = 0; e < ne; e++) {
        g.adj[fill[src[e]]++] = dst[e];
        g.adj[fill[dst[e]]++] = src[e];
    }
    free(fill);
    free(src);
    free(dst);
    return g;
}

/*
 * Hop distances from source into dist; queue receives the visit order.
 * Returns the number of vertices reached.
 */
static uint32_t bfs(const struct graph *g, uint32_t source, uint32_t *dist, uint32_t *queue)
{
    for (uint32_t v = 0; v < g->nv; v++)
        dist[v] = UNREACHED;
    uint32_t head = 0, tail = 0;
    dist[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        uint32_t u = queue[head++];
        uint32_t du = dist[u] + 1;
        for (uint32_t i = g->offsets[u]; i < g->offsets[u + 1]; i++) {
            uint32_t v = g->adj[i];
            if (dist[v] == UNREACHED) {
                dist[v] = du;
                queue[tail++] = v;
            }
        }
    }
    return tail;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    uint32_t nv = quick ? 10000 : 100000;
    uint32_t ne = nv * 4; /* average degree 8 */
    uint32_t sources = quick ? 4 : 12;

    struct graph g = make_graph(nv, ne);
    uint32_t *dist = xmalloc((size_t)nv * sizeof *dist);
    uint32_t *queue = xmalloc((size_t)nv * sizeof *queue);

    uint64_t h = CHECKSUM_INIT;
    for (uint32_t s = 0; s < sources; s++) {
        uint32_t reached = bfs(&g, rng_below(nv), dist, queue);
        /* Order-sensitive sums over the visit order and the distances. */
        uint64_t order = 0, weighted = 0;
        uint32_t depth = 0;
        for (uint32_t i = 0; i < reached; i++)
            order = order * 0x100000001B3ULL + queue[i];
        for (uint32_t v = 0; v < nv; v++) {
            if (dist[v] != UNREACHED) {
                weighted += (uint64_t)dist[v] * (v + 1);
                if (dist[v] > depth)
                    depth = dist[v];
            }
        }
        h = mix(h, reached);
        h = mix(h, depth);
        h = mix(h, weighted);
        h = mix(h, order);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);

    free(g.offsets);
    free(g.adj);
    free(dist);
    free(queue);
    return 0;
}
