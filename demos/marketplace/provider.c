/*
 * provider.c - the data provider as a tenant (the manifest version of the
 * demo; `waven demo marketplace` has the host play this part).
 *
 *   provider [DATASET]   (default: dataset)
 *
 * The region DATASET is made by the host from the manifest, owned by this
 * tenant (which may map it read-write) and granted read-only to the
 * analysts. The provider maps it, fills it with records mp_make_record(0),
 * mp_make_record(1), ... (as many as fit), and leaves its own mapping
 * read-only. The region outlives the provider: its frames belong to it.
 *
 * Exit status: 0 done, 1 an ABI call failed.
 */
#include <stdio.h>

#include "marketplace.h"

int main(int argc, char **argv) {
    const char *dataset = argc > 1 ? argv[1] : MP_DATASET;

    waven_handle_t h = waven_open_str(dataset);
    int32_t size = waven_is_error(h) ? h : waven_region_size(h);
    int32_t at = waven_is_error(size) ? size : waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW);
    if (waven_is_error(at)) {
        printf("provider: open and map \"%s\" read-write: %s\n", dataset,
               waven_strerror(at));
        return 1;
    }
    struct mp_record *rec = (struct mp_record *)(uintptr_t)(uint32_t)at;
    uint32_t n = (uint32_t)size / sizeof *rec;

    uint64_t t0 = mp_now_ns();
    for (uint32_t i = 0; i < n; i++)
        rec[i] = mp_make_record(i);
    uint64_t t1 = mp_now_ns();

    int32_t r = waven_protect(rec, (uint32_t)size, WAVEN_R);
    if (waven_is_error(r)) {
        printf("provider: protect(\"%s\", R) = %s\n", dataset, waven_strerror(r));
        return 1;
    }
    printf("provider: wrote %u records (%ld bytes) into \"%s\" in %.1f ms\n",
           n, (long)size, dataset, mp_ms(t1 - t0));
    return 0;
}
