/*
 * waven.h - guest SDK for the waven memory ABI (import module "waven").
 *
 * The contract is DESIGN.md section 4 (guest ABI) and section 2 (memory
 * model). In short: an instance's linear memory is made of 4 KiB pages, each
 * with rights none / read / read-write for that instance. Pages can be shared
 * as a named region, granted to other instances by name, opened and mapped by
 * them, all without copying.
 *
 * Every function here is a Wasm import whose parameters and result are i32,
 * except the timeout of waven_wait (i64). Addresses and lengths must be
 * multiples of WAVEN_PAGE_SIZE (WAVEN_EINVAL otherwise) and ranges must lie
 * below memory.size. A result in -4095..-1 is a negated WASI errno (the
 * WAVEN_E* constants below); any other value is success, so waven_map can
 * return an address at or above 2 GiB, negative as int32_t: test results
 * with waven_is_error(), never with `< 0`. A call that fails changes
 * nothing.
 *
 * Region names are scoped by their owner: waven_share("data") makes the
 * caller's region "data"; the caller opens it as "data", every other
 * instance as "OWNER/data" (OWNER: the sharing instance's name), and the
 * host's regions are "host/NAME". No instance can make a region in
 * another's namespace, so none can pose as another.
 *
 * What an instance makes the host keep (grants, open handles, regions,
 * waiters) is bounded by its tenant's limits; beyond one, the call returns
 * WAVEN_ENOMEM and changes nothing.
 *
 * Build guests with: clang --target=wasm32-wasi -O2 -fuse-ld=lld -I <this dir>
 * The imports stay undefined at link time and are resolved by the runtime.
 */
#ifndef WAVEN_H
#define WAVEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Constants                                                                 */
/* ------------------------------------------------------------------------ */

/** Size of a waven page (the unit of rights and sharing): 4 KiB. */
#define WAVEN_PAGE_SIZE 4096u

/** Size of a Wasm page (the unit of memory.grow): 64 KiB = 16 waven pages. */
#define WAVEN_WASM_PAGE_SIZE 65536u

/** Rights: no access at all (any load or store faults). */
#define WAVEN_NONE 0
/** Rights: read only (stores fault). */
#define WAVEN_R 1
/** Rights: read and write. (2, "write only", does not exist: WAVEN_EINVAL.) */
#define WAVEN_RW 3

/** Error: access denied: rights above what the caller may have, or a region not granted. */
#define WAVEN_EACCES (-2)
/** Error: the handle is not an open region handle of the caller. */
#define WAVEN_EBADF (-8)
/** Error: resource busy. */
#define WAVEN_EBUSY (-10)
/** Error: already exists (for example a region name already in use). */
#define WAVEN_EEXIST (-20)
/** Error: a guest pointer (a name string, for example) is not readable by the caller. */
#define WAVEN_EFAULT (-21)
/** Error: bad argument: unaligned address or length, bad rights, range past memory.size, a malformed name. */
#define WAVEN_EINVAL (-28)
/** Error: no such region (or instance). */
#define WAVEN_ENOENT (-44)
/**
 * Error: out of frames (the frame budget), memory cannot grow, or a limit
 * of the caller's tenant is reached (grants, handles, regions, waiters).
 */
#define WAVEN_ENOMEM (-48)
/** Error: not supported here (the `plain` memory backend cannot virtualize). */
#define WAVEN_ENOSYS (-52)
/** Error: operation not permitted (not the owner, platform policy, discard of a shared page). */
#define WAVEN_EPERM (-63)

/** waven_wait result: woken by waven_notify. */
#define WAVEN_WOKEN 0
/** waven_wait result: the value at the address was not the expected one. */
#define WAVEN_NOT_EQUAL 1
/** waven_wait result: the timeout expired. */
#define WAVEN_TIMED_OUT 2

/**
 * waven_wait timeout meaning "no timeout". DESIGN.md does not spell this out;
 * this follows memory.atomic.wait32, where a negative timeout waits forever.
 */
#define WAVEN_WAIT_FOREVER ((int64_t)-1)

/** waven_map address meaning "grow memory and map at its old end" (i32 -1). */
#define WAVEN_MAP_ANYWHERE ((void *)(uintptr_t)-1)

/** Region handle returned by waven_share and waven_open (>= 0 when valid). */
typedef int32_t waven_handle_t;

/* ------------------------------------------------------------------------ */
/* Imports (DESIGN.md section 4), one per ABI function                       */
/* ------------------------------------------------------------------------ */

#define WAVEN_IMPORT(name) \
    __attribute__((import_module("waven"), import_name(#name)))

/** page_size() -> i32: always 4096. */
WAVEN_IMPORT(page_size)
int32_t waven_page_size(void);

/**
 * protect(addr, len, rights): set the caller's rights on mapped pages of
 * [addr, addr+len). On shared pages never above what the caller's mapping
 * allows (WAVEN_EACCES).
 */
WAVEN_IMPORT(protect)
int32_t waven_protect(void *addr, uint32_t len, int32_t rights);

/** unmap(addr, len): the pages become unmapped; private frames are released. */
WAVEN_IMPORT(unmap)
int32_t waven_unmap(void *addr, uint32_t len);

/** map_anon(addr, len, rights): fresh zero private pages there, replacing what was there. */
WAVEN_IMPORT(map_anon)
int32_t waven_map_anon(void *addr, uint32_t len, int32_t rights);

/**
 * discard(addr, len): private pages read as zero again and their frames are
 * released; shared pages: WAVEN_EPERM.
 */
WAVEN_IMPORT(discard)
int32_t waven_discard(void *addr, uint32_t len);

/**
 * share(addr, len, name_ptr, name_len, max_rights) -> handle: make the
 * caller's pages [addr, addr+len) a region called `name` (UTF-8, 1 to 256
 * bytes, no '/') in the caller's namespace. No copy; the pages stay mapped
 * for the caller. max_rights caps every later grant. WAVEN_EEXIST if the
 * caller has a region of that name already (other owners' names do not
 * matter); WAVEN_ENOMEM beyond the tenant's region or handle limit.
 */
WAVEN_IMPORT(share)
waven_handle_t waven_share(void *addr, uint32_t len, const char *name,
                           uint32_t name_len, int32_t max_rights);

/**
 * grant(handle, who_ptr, who_len, rights): let instance `who` open and map
 * the region with at most `rights`. Owner only (WAVEN_EPERM), never above
 * max_rights (WAVEN_EACCES); platform policy may refuse (WAVEN_EPERM; it
 * denies unless the deployment allows); WAVEN_ENOMEM beyond the tenant's
 * grant limit (all its regions' grants together).
 */
WAVEN_IMPORT(grant)
int32_t waven_grant(waven_handle_t handle, const char *who, uint32_t who_len,
                    int32_t rights);

/** revoke(handle, who_ptr, who_len): remove the grant and every mapping `who` has of the region. */
WAVEN_IMPORT(revoke)
int32_t waven_revoke(waven_handle_t handle, const char *who, uint32_t who_len);

/**
 * open(name_ptr, name_len) -> handle: a handle to a region the caller owns
 * or was granted. `name` is the caller's own region's name, or
 * "OWNER/NAME" for another instance's ("host/NAME" for the host's): the
 * owner of a region is in the name that opens it. WAVEN_ENOENT (no such
 * region), WAVEN_EACCES (not granted), WAVEN_EINVAL (malformed name),
 * WAVEN_ENOMEM (the tenant's handle limit).
 */
WAVEN_IMPORT(open)
waven_handle_t waven_open(const char *name, uint32_t name_len);

/**
 * map(handle, addr, rights) -> address: map the whole region at addr,
 * replacing what was there. addr = WAVEN_MAP_ANYWHERE: grow memory and map at
 * its old end. Returns the address the region was mapped at; test it with
 * waven_is_error(), since an address at or above 2 GiB is negative as i32.
 */
WAVEN_IMPORT(map)
int32_t waven_map(waven_handle_t handle, void *addr, int32_t rights);

/** region_size(handle) -> i32: the region's size in bytes. */
WAVEN_IMPORT(region_size)
int32_t waven_region_size(waven_handle_t handle);

/** close(handle): forget the handle; mappings made through it stay. */
WAVEN_IMPORT(close)
int32_t waven_close(waven_handle_t handle);

/**
 * wait(addr, expected, timeout_ns: i64): futex-style wait on an i32 in a
 * shared page. Returns WAVEN_WOKEN, WAVEN_NOT_EQUAL (the value was not
 * `expected`) or WAVEN_TIMED_OUT, or a negative error (WAVEN_ENOMEM: the
 * tenant has as many waiters as it may). Waits and notifies meet only
 * where instances map the same region's page; on any other page only the
 * caller's own instance can wake it.
 */
WAVEN_IMPORT(wait)
int32_t waven_wait(const volatile int32_t *addr, int32_t expected,
                   int64_t timeout_ns);

/** notify(addr, count): wake up to `count` waiters on addr, in any instance; returns how many. */
WAVEN_IMPORT(notify)
int32_t waven_notify(const volatile int32_t *addr, uint32_t count);

#undef WAVEN_IMPORT

/* ------------------------------------------------------------------------ */
/* Helpers (header only, no imports of their own)                            */
/* ------------------------------------------------------------------------ */

/**
 * True if `r` (any waven result, including waven_map's address) is an
 * error: -4095..-1, as Linux does for mmap. Page-aligned addresses never
 * fall in that range.
 */
static inline int waven_is_error(int32_t r) {
    return r < 0 && r >= -4095;
}

/** A short name for a waven error code ("EACCES", ...), or "OK" for r >= 0. */
static inline const char *waven_strerror(int32_t r) {
    switch (r) {
    case WAVEN_EACCES: return "EACCES";
    case WAVEN_EBADF:  return "EBADF";
    case WAVEN_EBUSY:  return "EBUSY";
    case WAVEN_EEXIST: return "EEXIST";
    case WAVEN_EFAULT: return "EFAULT";
    case WAVEN_EINVAL: return "EINVAL";
    case WAVEN_ENOENT: return "ENOENT";
    case WAVEN_ENOMEM: return "ENOMEM";
    case WAVEN_ENOSYS: return "ENOSYS";
    case WAVEN_EPERM:  return "EPERM";
    default:           return waven_is_error(r) ? "E?" : "OK";
    }
}

/** `size` rounded up to a multiple of WAVEN_PAGE_SIZE (0 stays 0). */
static inline size_t waven_page_align_up(size_t size) {
    return (size + (WAVEN_PAGE_SIZE - 1)) & ~(size_t)(WAVEN_PAGE_SIZE - 1);
}

/** share() with a NUL-terminated region name. */
static inline waven_handle_t waven_share_str(void *addr, size_t len,
                                             const char *name,
                                             int32_t max_rights) {
    return waven_share(addr, (uint32_t)len, name, (uint32_t)strlen(name),
                       max_rights);
}

/** grant() with a NUL-terminated instance name. */
static inline int32_t waven_grant_str(waven_handle_t handle, const char *who,
                                      int32_t rights) {
    return waven_grant(handle, who, (uint32_t)strlen(who), rights);
}

/** revoke() with a NUL-terminated instance name. */
static inline int32_t waven_revoke_str(waven_handle_t handle,
                                       const char *who) {
    return waven_revoke(handle, who, (uint32_t)strlen(who));
}

/** open() with a NUL-terminated region name. */
static inline waven_handle_t waven_open_str(const char *name) {
    return waven_open(name, (uint32_t)strlen(name));
}

/**
 * Page-aligned memory that can be shared: grows linear memory by enough
 * whole 64 KiB Wasm pages for `bytes` and returns the old end of memory
 * (a multiple of 64 KiB, hence page aligned). The new pages are private,
 * read-write and zero. Returns NULL if bytes is 0 or memory cannot grow.
 * Never freed; malloc (which may also grow memory) just skips over it.
 * Share waven_page_align_up(bytes) of it: the rest of the last Wasm page
 * stays private.
 */
static inline void *waven_alloc_pages(size_t bytes) {
    if (bytes == 0 || bytes > SIZE_MAX - (WAVEN_WASM_PAGE_SIZE - 1))
        return NULL;
    size_t pages = (bytes + (WAVEN_WASM_PAGE_SIZE - 1)) / WAVEN_WASM_PAGE_SIZE;
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1)
        return NULL;
    return (void *)(old * WAVEN_WASM_PAGE_SIZE);
}

#ifdef __cplusplus
}
#endif

#endif /* WAVEN_H */
