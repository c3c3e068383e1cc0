/*
 * pingpong.c - two instances take turns through wait/notify on a shared i32.
 *
 *   pingpong ping [ROUNDS]     (run as the instance named "ping")
 *   pingpong pong              (run as the instance named "pong")
 *
 * Protocol. The ping side allocates one page, writes `rounds` (default 5)
 * and ball = 0, shares the page as region "pingpong" (max rights RW) and
 * grants RW to the instance "pong". The pong side opens and maps it
 * read-write. Then `ball` counts strokes and its parity says whose turn it
 * is:
 *
 *   ball even (0, 2, 4, ...): ping's turn. Ping stores ball + 1 and
 *                             notifies the address.
 *   ball odd  (1, 3, 5, ...): pong's turn. Pong stores ball + 1 and
 *                             notifies the address.
 *
 * Each side waits for its turn with the usual futex loop: load the value;
 * if it is not yet the one it waits for, waven_wait(&ball, loaded, timeout),
 * which returns at once (WAVEN_NOT_EQUAL) if the value changed in between,
 * so a notify can never be lost. After `rounds` strokes each (ball ==
 * 2 * rounds) both exit 0. A wait that times out (the peer is gone) or
 * fails (WAVEN_ENOSYS on the plain memory backend) exits 1.
 *
 * The ball is accessed with __atomic builtins. Compiled as here (no
 * -matomics) they are plain i32 loads and stores, which DESIGN.md allows
 * on shared pages, and the turn-taking never has both sides store at once.
 * (-matomics would emit threads-proposal instructions, which waven's
 * loader does not accept today.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "waven.h"

#define REGION "pingpong"
/* How pong opens it: names are scoped by their owner, instance "ping". */
#define REGION_PATH "ping/" REGION
#define TIMEOUT_NS (10LL * 1000 * 1000 * 1000) /* 10 s per wait */

struct table {
    int32_t ball;   /* strokes so far; even: ping's turn, odd: pong's turn */
    int32_t rounds; /* strokes each side plays, written by ping before sharing */
};

static int32_t load(int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/* Block until *p == want. Returns 0, or -1 on timeout or error. */
static int wait_for(const char *me, int32_t *p, int32_t want) {
    for (;;) {
        int32_t seen = load(p);
        if (seen == want)
            return 0;
        int32_t r = waven_wait(p, seen, TIMEOUT_NS);
        if (r == WAVEN_TIMED_OUT || waven_is_error(r)) {
            printf("%s: wait(ball, %ld) = %ld (%s), giving up\n", me,
                   (long)seen, (long)r,
                   r == WAVEN_TIMED_OUT ? "timed out" : waven_strerror(r));
            return -1;
        }
        /* WAVEN_WOKEN or WAVEN_NOT_EQUAL: look again. */
    }
}

/* Hit the ball: the next stroke, and wake the other side. */
static void hit(const char *me, int32_t *p, int32_t next) {
    __atomic_store_n(p, next, __ATOMIC_SEQ_CST);
    int32_t woken = waven_notify(p, 1);
    printf("%s: ball = %ld, notify woke %ld\n", me, (long)next, (long)woken);
}

static int ping(int32_t rounds) {
    struct table *t = waven_alloc_pages(WAVEN_PAGE_SIZE);
    if (t == NULL) {
        printf("ping: memory.grow failed\n");
        return 1;
    }
    t->ball = 0;
    t->rounds = rounds;

    waven_handle_t h = waven_share_str(t, WAVEN_PAGE_SIZE, REGION, WAVEN_RW);
    printf("ping: share(%p, 4096, \"%s\", RW) = %ld (%s)\n", (void *)t, REGION,
           (long)h, waven_strerror(h));
    if (waven_is_error(h))
        return 1;
    int32_t r = waven_grant_str(h, "pong", WAVEN_RW);
    printf("ping: grant(%ld, \"pong\", RW) = %ld (%s)\n", (long)h, (long)r,
           waven_strerror(r));
    if (waven_is_error(r))
        return 1;

    for (int32_t i = 0; i < rounds; i++) {
        if (wait_for("ping", &t->ball, 2 * i) != 0)
            return 1;
        hit("ping", &t->ball, 2 * i + 1);
    }
    if (wait_for("ping", &t->ball, 2 * rounds) != 0)
        return 1;
    printf("ping: %ld rounds played\n", (long)rounds);
    return 0;
}

static int pong(void) {
    /* The ping side may not have shared and granted yet: retry ~2 s. */
    struct timespec pause = {0, 100 * 1000 * 1000};
    waven_handle_t h = WAVEN_ENOENT;
    for (int i = 0; i < 20; i++) {
        h = waven_open_str(REGION_PATH);
        if (h != WAVEN_ENOENT && h != WAVEN_EACCES)
            break;
        nanosleep(&pause, NULL);
    }
    printf("pong: open(\"%s\") = %ld (%s)\n", REGION_PATH, (long)h,
           waven_strerror(h));
    if (waven_is_error(h))
        return 1;
    int32_t at = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW);
    printf("pong: map(%ld, ANYWHERE, RW) = 0x%lx (%s)\n", (long)h,
           (unsigned long)(uint32_t)at, waven_strerror(at));
    if (waven_is_error(at))
        return 1;
    waven_close(h);

    struct table *t = (struct table *)(uintptr_t)(uint32_t)at;
    int32_t rounds = load(&t->rounds);
    for (int32_t i = 0; i < rounds; i++) {
        if (wait_for("pong", &t->ball, 2 * i + 1) != 0)
            return 1;
        hit("pong", &t->ball, 2 * i + 2);
    }
    printf("pong: %ld rounds played\n", (long)rounds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ping") == 0) {
        int32_t rounds = argc > 2 ? atoi(argv[2]) : 5;
        return ping(rounds > 0 ? rounds : 5);
    }
    if (argc > 1 && strcmp(argv[1], "pong") == 0)
        return pong();
    printf("usage: pingpong ping [ROUNDS] | pingpong pong\n");
    return 2;
}
