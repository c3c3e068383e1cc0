/*
 * consumer.c - map a region someone lent us read-only and read it.
 *
 *   consumer [--attack-write]
 *
 * 1. opens the region "greeting" (retrying for a while: the producer may
 *    not have shared and granted it yet when both run at the same time),
 * 2. maps it read-only at WAVEN_MAP_ANYWHERE: memory grows and the region's
 *    frames appear at the old end of memory, without a copy,
 * 3. prints the message and checks the data's checksum,
 * 4. with --attack-write, last of all, stores into the mapped page. That
 *    must trap with a memory fault (write to an R page): the program never
 *    reaches the line after the store. If it does, it exits with status 3.
 *
 * Exit status: 0 read fine, 1 an ABI call failed, 2 the data was wrong.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "greeting.h"
#include "waven.h"

/* Open a region, retrying on ENOENT/EACCES up to ~2 s (20 x 100 ms). */
static waven_handle_t open_with_retry(const char *name) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    waven_handle_t h = WAVEN_ENOENT;
    for (int attempt = 0; attempt < 20; attempt++) {
        h = waven_open_str(name);
        if (h != WAVEN_ENOENT && h != WAVEN_EACCES)
            break;
        nanosleep(&pause, NULL);
    }
    return h;
}

int main(int argc, char **argv) {
    int attack_write = argc > 1 && strcmp(argv[1], "--attack-write") == 0;

    waven_handle_t h = open_with_retry(GREETING_PATH);
    printf("consumer: open(\"%s\") = %ld (%s)\n", GREETING_PATH, (long)h,
           waven_strerror(h));
    if (waven_is_error(h))
        return 1;

    int32_t size = waven_region_size(h);
    printf("consumer: region_size(%ld) = %ld (%s)\n", (long)h, (long)size,
           waven_strerror(size));
    if (waven_is_error(size) || (size_t)size < sizeof(struct greeting)) {
        printf("consumer: region too small for struct greeting\n");
        return 1;
    }

    /* Read-only is all we were granted; RW would be refused with EACCES. */
    int32_t at = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_R);
    printf("consumer: map(%ld, ANYWHERE, R) = 0x%lx (%s)\n", (long)h,
           (unsigned long)(uint32_t)at, waven_strerror(at));
    if (waven_is_error(at))
        return 1;

    /* The handle is no longer needed: the mapping stays. */
    printf("consumer: close(%ld) = %ld\n", (long)h, (long)waven_close(h));

    /* volatile: the producer's frames, read each time, never cached. */
    volatile struct greeting *g = (volatile struct greeting *)(uintptr_t)(uint32_t)at;
    if (g->magic != GREETING_MAGIC || g->msg_len >= sizeof g->msg) {
        printf("consumer: no greeting in the region (magic %08x)\n",
               (unsigned)g->magic);
        return 2;
    }
    char msg[sizeof g->msg];
    for (uint32_t i = 0; i < g->msg_len; i++)
        msg[i] = g->msg[i];
    msg[g->msg_len] = '\0';
    printf("consumer: message: \"%s\"\n", msg);

    uint32_t sum = greeting_checksum(g->data);
    printf("consumer: %u numbers, checksum %08x (%s)\n",
           (unsigned)GREETING_DATA_COUNT, (unsigned)sum,
           sum == g->checksum ? "matches" : "MISMATCH");
    if (sum != g->checksum)
        return 2;

    if (!attack_write) {
        printf("consumer: done (run with --attack-write to try a store)\n");
        return 0;
    }

    /* The attack: a plain store into a page we may only read. */
    printf("consumer: writing to the read-only page at %p; this must trap\n",
           (void *)g);
    fflush(stdout);
    g->msg[0] = 'X';
    printf("consumer: FAIL: the write to a read-only page succeeded\n");
    return 3;
}
