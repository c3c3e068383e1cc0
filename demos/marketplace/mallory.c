/*
 * mallory.c - a malicious analyst: it was lent the data set read-only like
 * the others, and tries to change it, to read the other analysts' results
 * and to smuggle data out through a WASI call. Every attempt must fail.
 *
 *   mallory [--store] [DATASET [RESULT...]]
 *           (default: host/dataset hist/hist-result stats/stats-result
 *           topk/topk-result)
 *
 * Each attempt is printed on one line that the host parses:
 *
 *   attempt: GOAL: CALL -> RESULT
 *
 * where RESULT is the error name (EACCES, EPERM, EFAULT, ...) if the call
 * was refused, or "OK ..." if it was allowed (a breach). The attempts:
 *
 *   change the data set          map(DATASET, RW)            -> EACCES
 *   change the data set          protect(mapping, RW)        -> EACCES
 *   change the data set          discard(mapping)            -> EPERM
 *   pass the data set on         grant(DATASET, accomplice)  -> EPERM
 *   read another analyst's results  open(RESULT), each       -> EACCES
 *   smuggle data out             fd_write(stdout) of a data set page it
 *                                protected to none            -> EFAULT
 *   smuggle data out             fd_write(stdout) of bytes that run from a
 *                                readable page into that one  -> EFAULT
 *
 * With --store, last of all, a plain store into the read-only data set:
 * it is announced with a line "pending: GOAL: CALL" and must trap, so that
 * nothing after it runs; if the store went through, mallory prints the
 * attempt as "OK" and exits with status 3.
 *
 * Exit status: 0 every attempt was refused, 1 something was allowed,
 * 2 the setup (open and map the data set read-only) failed.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#include "marketplace.h"

static int allowed;

/* Reports one attempt: r < 0 is a refusal with that waven (WASI) errno. */
static void attempt(const char *goal, const char *call, int32_t r) {
    if (waven_is_error(r)) {
        printf("attempt: %s: %s -> %s\n", goal, call, waven_strerror(r));
    } else {
        printf("attempt: %s: %s -> OK (%ld)\n", goal, call, (long)r);
        allowed++;
    }
}

/* fd_write(stdout) of one buffer; returns bytes written or a negated errno. */
static int32_t write_raw(const void *buf, uint32_t len) {
    fflush(stdout);
    __wasi_ciovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t written = 0;
    __wasi_errno_t e = __wasi_fd_write(1, &iov, 1, &written);
    if (e != 0)
        return -(int32_t)e;
    return (int32_t)written;
}

int main(int argc, char **argv) {
    int store = 0;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--store") == 0) {
        store = 1;
        first = 2;
    }
    const char *dataset = argc > first ? argv[first] : MP_DATASET_PATH;
    static const char *default_results[] = {
        MP_HIST_RESULT_PATH, MP_STATS_RESULT_PATH, MP_TOPK_RESULT_PATH};
    const char *const *results = default_results;
    int nresults = 3;
    if (argc > first + 1) {
        results = (const char *const *)&argv[first + 1];
        nresults = argc - first - 1;
    }
    char call[160];
    const char *change = "change the data set";

    /* Setup: the handle and the read-only mapping it is entitled to. */
    waven_handle_t h = waven_open_str(dataset);
    int32_t size = waven_is_error(h) ? h : waven_region_size(h);
    if (waven_is_error(size) || size < 2 * (int32_t)WAVEN_PAGE_SIZE) {
        printf("mallory: setup: open(\"%s\") failed (%s) or it is under two "
               "pages\n", dataset, waven_strerror(size));
        return 2;
    }

    snprintf(call, sizeof call, "map(\"%s\", ANYWHERE, RW)", dataset);
    attempt(change, call, waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW));

    int32_t at = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_R);
    if (waven_is_error(at)) {
        printf("mallory: setup: map(\"%s\", ANYWHERE, R) = %s\n", dataset,
               waven_strerror(at));
        return 2;
    }
    char *data = (char *)(uintptr_t)(uint32_t)at;
    printf("mallory: mapped \"%s\" read-only at %p (%ld bytes)\n", dataset,
           (void *)data, (long)size);

    snprintf(call, sizeof call, "protect(%p, %ld, RW)", (void *)data,
             (long)size);
    attempt(change, call, waven_protect(data, (uint32_t)size, WAVEN_RW));

    snprintf(call, sizeof call, "discard(%p, %ld)", (void *)data, (long)size);
    attempt(change, call, waven_discard(data, (uint32_t)size));

    snprintf(call, sizeof call, "grant(\"%s\", \"accomplice\", R)", dataset);
    attempt("pass the data set on", call,
            waven_grant_str(h, "accomplice", WAVEN_R));

    for (int i = 0; i < nresults; i++) {
        snprintf(call, sizeof call, "open(\"%s\")", results[i]);
        attempt("read another analyst's results", call,
                waven_open_str(results[i]));
    }

    /*
     * Smuggling: make the host (WASI) read for us what our own loads may
     * not. Page 1 of the data set becomes "none" for us (lowering rights
     * is allowed); then fd_write is asked to copy it to stdout.
     */
    char *hidden = data + WAVEN_PAGE_SIZE;
    int32_t r = waven_protect(hidden, WAVEN_PAGE_SIZE, WAVEN_NONE);
    if (waven_is_error(r)) {
        printf("mallory: setup: protect(%p, 4096, NONE) = %s\n",
               (void *)hidden, waven_strerror(r));
        return 2;
    }
    snprintf(call, sizeof call, "fd_write(stdout, %p, 4096) of a page with no rights",
             (void *)hidden);
    attempt("smuggle data out", call, write_raw(hidden, WAVEN_PAGE_SIZE));
    snprintf(call, sizeof call,
             "fd_write(stdout, %p, 32) from a readable page into it",
             (void *)(hidden - 16));
    attempt("smuggle data out", call, write_raw(hidden - 16, 32));

    if (!store) {
        printf("mallory: %s\n", allowed ? "some attempts were ALLOWED"
                                        : "every attempt was refused");
        return allowed ? 1 : 0;
    }

    /* Last: a plain store into the read-only data set. It must trap. */
    snprintf(call, sizeof call, "store 0 to %p (record 0)", (void *)data);
    printf("pending: %s: %s\n", change, call);
    fflush(stdout);
    *(volatile int32_t *)data = 0;
    attempt(change, call, 0);
    return 3;
}
