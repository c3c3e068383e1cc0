/*
 * attacker.c - a C attack guest of the isolation suite
 * (crates/platform/tests/isolation.rs), committed as attacker.wasm, built by
 * scripts/build-guests.sh with
 *
 *   clang --target=wasm32-wasi -O2 -fuse-ld=lld -I guest/include attacker.c
 *
 * It runs as an instance that was granted the provider's region "data"
 * read-only. It opens "provider/data" and maps it read-only at the end of its memory (allowed:
 * that is the setup), prints "mapped SIZE bytes at ADDR", then, by argv[1]:
 *
 *   refusals  tries what the grant forbids through the ABI and WASI, prints
 *             one line per attempt ("WHAT = RESULT ok|UNEXPECTED") and the
 *             stdin it can still read ("stdin: ..."); exit 0 if every
 *             attempt was refused with the expected errno, 1 otherwise
 *   write     a plain store into the mapped region (must trap)
 *   memcpy    libc memcpy into the mapped region (must trap)
 *   memset    libc memset over the mapped region (must trap)
 *
 * The last three print "FAIL" and exit 3 if the write went through.
 * stdout is unbuffered, so everything printed before a trap is seen.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "waven.h"

static int failures;

static void expect(const char *what, int32_t got, int32_t want) {
    int ok = got == want;
    printf("%s = %d %s\n", what, (int)got, ok ? "ok" : "UNEXPECTED");
    if (!ok)
        failures++;
}

static uint32_t checksum(const volatile unsigned char *p, int32_t len) {
    uint32_t sum = 0;
    for (int32_t i = 0; i < len; i++)
        sum = sum * 31 + p[i];
    return sum;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "refusals";

    waven_handle_t h = waven_open_str("provider/data");
    if (waven_is_error(h)) {
        printf("open(data) = %d\n", (int)h);
        return 2;
    }
    int32_t size = waven_region_size(h);
    int32_t addr = waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_R);
    if (waven_is_error(size) || waven_is_error(addr)) {
        printf("region_size = %d, map = %d\n", (int)size, (int)addr);
        return 2;
    }
    unsigned char *at = (unsigned char *)(uintptr_t)addr;
    printf("mapped %d bytes at %d\n", (int)size, (int)addr);

    if (strcmp(mode, "write") == 0) {
        ((volatile unsigned char *)at)[5] = 'x';
        printf("FAIL: the store went through\n");
        return 3;
    }
    if (strcmp(mode, "memcpy") == 0) {
        static char junk[256];
        memset(junk, 'x', sizeof junk);
        memcpy(at, junk, sizeof junk);
        printf("FAIL: memcpy went through\n");
        return 3;
    }
    if (strcmp(mode, "memset") == 0) {
        memset(at, 0, (size_t)size);
        printf("FAIL: memset went through\n");
        return 3;
    }

    uint32_t before = checksum(at, size);
    expect("map(data, ANYWHERE, RW)", waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW),
           WAVEN_EACCES);
    expect("protect(mapping, RW)", waven_protect(at, (uint32_t)size, WAVEN_RW),
           WAVEN_EACCES);
    expect("grant(data, accomplice, R)", waven_grant_str(h, "accomplice", WAVEN_R),
           WAVEN_EPERM);
    expect("grant(data, c_attacker, RW)", waven_grant_str(h, "c_attacker", WAVEN_RW),
           WAVEN_EPERM);
    expect("revoke(data, victim)", waven_revoke_str(h, "victim"), WAVEN_EPERM);
    expect("discard(mapping)", waven_discard(at, (uint32_t)size), WAVEN_EPERM);
    expect("share(mapping, laundered, RW)",
           waven_share_str(at, (size_t)size, "laundered", WAVEN_RW), WAVEN_EBUSY);
    expect("open(secret)", waven_open_str("provider/secret"), WAVEN_ENOENT);
    expect("protect(mapping + 1, RW)", waven_protect(at + 1, WAVEN_PAGE_SIZE, WAVEN_RW),
           WAVEN_EINVAL);
    expect("protect(mapping, R + write-only)", waven_protect(at, WAVEN_PAGE_SIZE, 2),
           WAVEN_EINVAL);

    errno = 0;
    ssize_t n = read(0, at, 16);
    expect("read(stdin, mapping)", n < 0 ? -errno : (int32_t)n, WAVEN_EFAULT);
    errno = 0;
    n = read(0, at + size - 8, 16);
    expect("read(stdin, mapping end)", n < 0 ? -errno : (int32_t)n, WAVEN_EFAULT);

    char buf[64];
    n = read(0, buf, sizeof buf);
    printf("stdin: %.*s\n", n > 0 ? (int)n : 0, buf);

    expect("region unchanged", checksum(at, size) == before, 1);
    return failures ? 1 : 0;
}
