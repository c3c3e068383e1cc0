/*
 * attacker.c - try what the rights forbid; every attempt must be refused.
 *
 *   attacker
 *
 * Run it as an instance that was granted "greeting" read-only (for
 * example `producer attacker`). It opens "greeting", maps it read-only
 * (allowed: that is the setup), then tries:
 *
 *   map "greeting" read-write              -> EACCES (grant is R only)
 *   protect its R mapping up to RW         -> EACCES (mapping caps rights)
 *   grant "greeting" to an accomplice      -> EPERM  (not the owner)
 *   revoke the consumer's grant            -> EPERM  (not the owner)
 *   discard the shared pages               -> EPERM  (shared pages)
 *   open "host/secret", never granted to it -> EACCES or ENOENT
 *   protect at an unaligned address        -> EINVAL
 *   protect an unaligned length            -> EINVAL
 *   protect with rights 2 (write-only)     -> EINVAL
 *
 * and finally checks that the region's contents did not change.
 * Each result is printed. Exit status: 0 every attempt was refused,
 * 1 something was allowed, 2 the setup (open/map "greeting") failed.
 * A refusal with another error code than expected is reported but still
 * counts as refused.
 */
#include <stdio.h>
#include <time.h>

#include "greeting.h"
#include "waven.h"

static int allowed, unexpected_code;

/* Judge one attempt: refused with one of the expected codes (0 = unused). */
static void attempt(const char *what, int32_t r, int32_t expect1,
                    int32_t expect2) {
    const char *verdict;
    if (!waven_is_error(r)) {
        verdict = "ALLOWED (breach!)";
        allowed++;
    } else if (r == expect1 || (expect2 != 0 && r == expect2)) {
        verdict = "refused, as expected";
    } else {
        verdict = "refused, but not with the expected code";
        unexpected_code++;
    }
    printf("attacker: %-40s = %ld (%s): %s\n", what, (long)r,
           waven_strerror(r), verdict);
}

int main(void) {
    /* Setup: a page of our own, for the argument checks. */
    char *own = waven_alloc_pages(WAVEN_PAGE_SIZE);
    if (own == NULL) {
        printf("attacker: memory.grow failed\n");
        return 2;
    }

    /* Setup: open "greeting" (retry: the producer may still be starting). */
    struct timespec pause = {0, 100 * 1000 * 1000};
    waven_handle_t h = WAVEN_ENOENT;
    for (int i = 0; i < 20; i++) {
        h = waven_open_str(GREETING_PATH);
        if (h != WAVEN_ENOENT && h != WAVEN_EACCES)
            break;
        nanosleep(&pause, NULL);
    }
    printf("attacker: setup: open(\"" GREETING_PATH "\") = %ld (%s)\n", (long)h,
           waven_strerror(h));

    int32_t size = waven_is_error(h) ? h : waven_region_size(h);
    int32_t at = WAVEN_EBADF;
    if (!waven_is_error(size)) {
        /* 1. Ask for more than the grant allows. */
        attempt("map(greeting, ANYWHERE, RW)",
                waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW), WAVEN_EACCES, 0);

        /* Setup: the read-only mapping we are entitled to. */
        at = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_R);
        printf("attacker: setup: map(greeting, ANYWHERE, R) = 0x%lx (%s)\n",
               (unsigned long)(uint32_t)at, waven_strerror(at));
    }

    volatile struct greeting *g = NULL;
    if (!waven_is_error(at)) {
        void *p = (void *)(uintptr_t)(uint32_t)at;
        g = p;
        uint32_t sum_before = g->checksum;

        /* 2. Raise our own rights on the mapped pages. */
        attempt("protect(mapped, size, RW)",
                waven_protect(p, (uint32_t)size, WAVEN_RW), WAVEN_EACCES, 0);

        /* 3. Lend someone else's region to an accomplice. */
        attempt("grant(greeting, \"mallory\", R)",
                waven_grant_str(h, "mallory", WAVEN_R), WAVEN_EPERM, 0);

        /* 4. Take it away from the legitimate consumer. */
        attempt("revoke(greeting, \"consumer\")",
                waven_revoke_str(h, "consumer"), WAVEN_EPERM, 0);

        /* 5. Zero the owner's data by discarding the shared pages. */
        attempt("discard(mapped, size)", waven_discard(p, (uint32_t)size),
                WAVEN_EPERM, 0);

        /* Nothing we tried may have changed the data. */
        int intact = g->magic == GREETING_MAGIC && g->checksum == sum_before &&
                     greeting_checksum(g->data) == sum_before;
        printf("attacker: greeting still intact: %s\n", intact ? "yes" : "NO");
        if (!intact)
            allowed++;
    }

    /* 6. A region that was never granted to us. */
    attempt("open(\"host/secret\")", waven_open_str("host/secret"), WAVEN_EACCES,
            WAVEN_ENOENT);

    /* 7-9. Malformed arguments on our own page. */
    attempt("protect(own + 1, 4096, R)",
            waven_protect(own + 1, WAVEN_PAGE_SIZE, WAVEN_R), WAVEN_EINVAL, 0);
    attempt("protect(own, 100, R)", waven_protect(own, 100, WAVEN_R),
            WAVEN_EINVAL, 0);
    attempt("protect(own, 4096, 2 /* write-only */)",
            waven_protect(own, WAVEN_PAGE_SIZE, 2), WAVEN_EINVAL, 0);

    if (allowed) {
        printf("attacker: %d attempt(s) were allowed\n", allowed);
        return 1;
    }
    if (g == NULL) {
        printf("attacker: setup failed; the attempts on \"greeting\" were not "
               "made (grant it read-only to this instance)\n");
        return 2;
    }
    printf("attacker: every attempt was refused%s\n",
           unexpected_code ? " (some with an unexpected code)" : "");
    return 0;
}
