/*
 * producer.c - share two pages read-only with another instance.
 *
 *   producer [GRANTEE [LINGER_MS]]
 *
 * 1. gets page-aligned memory with waven_alloc_pages (a memory.grow),
 * 2. writes a message and a table of numbers into it (struct greeting),
 * 3. shares those pages as the region "greeting" with max rights R, so no
 *    grantee can ever be given write access,
 * 4. grants R to the instance GRANTEE (default "consumer"),
 * 5. protects its own mapping read-only too: the data is now frozen for
 *    everybody, and a stray write by the producer itself would fault,
 * 6. optionally stays alive LINGER_MS milliseconds, for hosts that run the
 *    consumer concurrently and end a region with its owner.
 *
 * Every ABI call's return code is printed. Exit status 0 if all succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "greeting.h"
#include "waven.h"

static int failures;

/* Print one ABI call and its result; count failures. */
static int32_t report(const char *call, int32_t r) {
    printf("producer: %-44s = %ld (%s)\n", call, (long)r, waven_strerror(r));
    if (waven_is_error(r))
        failures++;
    return r;
}

int main(int argc, char **argv) {
    const char *grantee = argc > 1 ? argv[1] : "consumer";
    long linger_ms = argc > 2 ? atol(argv[2]) : 0;
    char call[128];

    report("page_size()", waven_page_size());

    /* Page-aligned, private, read-write, zero memory of our own. */
    struct greeting *g = waven_alloc_pages(sizeof *g);
    if (g == NULL) {
        printf("producer: memory.grow failed\n");
        return 1;
    }
    printf("producer: %zu bytes of pages at %p\n", sizeof *g, (void *)g);

    /* Fill the data page, then the header; magic last marks it complete. */
    for (uint32_t i = 0; i < GREETING_DATA_COUNT; i++)
        g->data[i] = i * i + 7;
    g->checksum = greeting_checksum(g->data);
    int n = snprintf(g->msg, sizeof g->msg,
                     "hello %s, this page is lent to you read-only", grantee);
    g->msg_len = (uint32_t)n;
    g->magic = GREETING_MAGIC;

    /* Make the pages a region. Nothing is copied: they stay ours, mapped RW. */
    snprintf(call, sizeof call, "share(%p, %zu, \"%s\", R)", (void *)g,
             sizeof *g, GREETING_REGION);
    waven_handle_t h =
        report(call, waven_share_str(g, sizeof *g, GREETING_REGION, WAVEN_R));
    if (waven_is_error(h))
        return 1;

    snprintf(call, sizeof call, "region_size(%ld)", (long)h);
    report(call, waven_region_size(h));

    /* Let the grantee open and map it, read-only. */
    snprintf(call, sizeof call, "grant(%ld, \"%s\", R)", (long)h, grantee);
    report(call, waven_grant_str(h, grantee, WAVEN_R));

    /* Freeze our own copy as well. */
    snprintf(call, sizeof call, "protect(%p, %zu, R)", (void *)g, sizeof *g);
    report(call, waven_protect(g, sizeof *g, WAVEN_R));

    printf("producer: shared \"%.*s\" and %u numbers (checksum %08x)\n",
           (int)g->msg_len, g->msg, (unsigned)GREETING_DATA_COUNT,
           (unsigned)g->checksum);

    if (linger_ms > 0) {
        struct timespec ts = {linger_ms / 1000, (linger_ms % 1000) * 1000000L};
        printf("producer: lingering %ld ms\n", linger_ms);
        nanosleep(&ts, NULL);
    }

    printf("producer: %s\n", failures ? "some calls failed" : "done");
    return failures ? 1 : 0;
}
