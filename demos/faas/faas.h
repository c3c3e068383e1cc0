/*
 * faas.h - what the stages of the FaaS chain share: the records they hand
 * on, the regions they hand them on in, and the skeleton of a stage (the
 * functions the host calls).
 *
 *   parse ──state-1──► transform ──state-2──► aggregate
 *
 * Each stage reads its input (if it has one) and writes its output, in
 * one of two modes chosen by the host when it sets the stage up:
 *
 *   zero-copy: the input and output are regions made by the host
 *              ("state-1", "state-2"; region names are scoped by their
 *              owner, so the stage opens "host/state-1"). The stage opens
 *              and maps them with
 *              the waven ABI: its output read-write (its grant is RW), its
 *              input read-only (its grant is R). Nothing is copied: the
 *              next stage maps the very frames this one wrote. When a stage
 *              is done, the host lowers its grant on its output to R, which
 *              lowers its live mapping too; from then on the stage can
 *              neither write there nor protect the pages back to RW.
 *   copy:      the input and output are private pages of the stage; the
 *              host copies each stage's output into the next stage's input.
 *
 * Exports of every stage (all i32; negative results are waven errors):
 *
 *   faas_setup(size, zero_copy)  map the regions (zero-copy; the size is
 *                                the regions') or allocate private buffers
 *                                of `size` bytes (copy). Once per instance.
 *   faas_input(), faas_output()  where the input and output are (0: none).
 *   faas_size()                  bytes of state handed on.
 *   faas_run()                   do the stage's work.
 *   faas_tamper()                try to change the output after it was
 *                                handed on: protect it RW, map its region
 *                                RW again, store into it. Each refusal is
 *                                printed; the store traps if refused.
 *   _start (main)                zero-copy setup and run, with a report:
 *                                how examples/faas.toml runs the chain.
 *
 * Build: demos/build-faas.sh (clang --target=wasm32-wasi).
 */
#ifndef FAAS_H
#define FAAS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "waven.h"

/*
 * The regions are the host's: region names are scoped by their owner, so
 * a stage opens "host/NAME" (a region of that name that a tenant shared
 * would be another region). Messages name them without the prefix.
 */
#define FAAS_HOST "host/"
/** The region parse hands on to transform. */
#define FAAS_STATE_1 FAAS_HOST "state-1"
/** The region transform hands on to aggregate. */
#define FAAS_STATE_2 FAAS_HOST "state-2"

/** Kinds of event (a record's `kind` is below this). */
#define FAAS_KINDS 16u

/** Bytes per record, in both states: 4 little-endian u32. */
#define FAAS_RECORD_SIZE 16u

/** The seed of parse's event stream when none is given. */
#define FAAS_DEFAULT_SEED 0x5eedfaa5u

/** state-1: one parsed event. */
struct faas_event {
    uint32_t id;     /* its position in the stream: 0, 1, 2, ... */
    uint32_t kind;   /* 0 .. FAAS_KINDS-1 */
    uint32_t amount; /* 0 .. 2^20-1, in cents */
    uint32_t tag;    /* opaque */
};

/** state-2: one event priced by transform. */
struct faas_priced {
    uint32_t id;    /* as in the event */
    uint32_t kind;  /* as in the event */
    uint32_t value; /* amount * rate of the kind / 1024 */
    uint32_t mix;   /* tag * 0x9e3779b1 ^ id */
};

/** aggregate's output: what the host reads back and verifies. */
struct faas_summary {
    uint64_t records;             /* records read */
    uint64_t total;               /* sum of every value */
    uint64_t checksum;            /* FNV-1a (64-bit) over (value << 32 | mix) */
    uint64_t sum[FAAS_KINDS];     /* sum of values per kind */
    uint32_t count[FAAS_KINDS];   /* records per kind */
    uint32_t out_of_order;        /* records whose id is not their position */
    uint32_t bad_kind;            /* records whose kind is >= FAAS_KINDS */
};

_Static_assert(sizeof(struct faas_event) == FAAS_RECORD_SIZE, "event layout");
_Static_assert(sizeof(struct faas_priced) == FAAS_RECORD_SIZE, "priced layout");
_Static_assert(sizeof(struct faas_summary) == 3 * 8 + 16 * 8 + 16 * 4 + 8,
               "summary layout");

/* ------------------------------------------------------------------------ */
/* The stage skeleton. A stage's .c file defines, before including this:    */
/*   FAAS_STAGE  its name ("parse")                                          */
/*   FAAS_IN     the region it reads, or NULL                                */
/*   FAAS_OUT    the region it writes, or NULL (then its output is private:  */
/*               aggregate's summary)                                        */
/* and, after, the three functions declared here.                            */
/* ------------------------------------------------------------------------ */

/** The stage's work on `records` records (input NULL for parse). */
static void stage_work(const void *in, void *out, uint32_t records);

/** Where a stage without an output region writes (aggregate), or NULL. */
static void *stage_private_output(void);

/** What main() prints after the work (how much, which checksum). */
static void stage_report(const void *in, const void *out, uint32_t records);

#define FAAS_EXPORT(name) __attribute__((export_name(#name)))

/** The regions the stage reads and writes (NULL: none). */
static const char *const faas_in_name = FAAS_IN;
static const char *const faas_out_name = FAAS_OUT;

static const uint8_t *faas_in;
static uint8_t *faas_out;
static uint32_t faas_bytes;
static int faas_zero_copy;

/** Opens region `name` and maps all of it at the end of memory. */
static int32_t faas_map(const char *name, int32_t rights, uint32_t *size) {
    waven_handle_t h = waven_open_str(name);
    if (waven_is_error(h))
        return h;
    int32_t bytes = waven_region_size(h);
    int32_t at = waven_is_error(bytes) ? bytes : waven_map(h, WAVEN_MAP_ANYWHERE, rights);
    waven_close(h);
    if (waven_is_error(at))
        return at;
    *size = (uint32_t)bytes;
    return at;
}

FAAS_EXPORT(faas_setup)
int32_t faas_setup(int32_t size, int32_t zero_copy) {
    if (faas_bytes != 0)
        return WAVEN_EBUSY;
    uint32_t in_size = 0, out_size = 0;
    if (zero_copy) {
        if (faas_in_name != NULL) {
            int32_t at = faas_map(faas_in_name, WAVEN_R, &in_size);
            if (waven_is_error(at))
                return at;
            faas_in = (const uint8_t *)(uintptr_t)(uint32_t)at;
        }
        if (faas_out_name != NULL) {
            int32_t at = faas_map(faas_out_name, WAVEN_RW, &out_size);
            if (waven_is_error(at))
                return at;
            faas_out = (uint8_t *)(uintptr_t)(uint32_t)at;
        }
        if (faas_in_name != NULL && faas_out_name != NULL && in_size != out_size)
            return WAVEN_EINVAL;
        size = (int32_t)(faas_in_name != NULL ? in_size : out_size);
    } else {
        if (size <= 0 || (uint32_t)size % WAVEN_PAGE_SIZE != 0)
            return WAVEN_EINVAL;
        if (faas_in_name != NULL && (faas_in = waven_alloc_pages((uint32_t)size)) == NULL)
            return WAVEN_ENOMEM;
        if (faas_out_name != NULL && (faas_out = waven_alloc_pages((uint32_t)size)) == NULL)
            return WAVEN_ENOMEM;
    }
    if (size <= 0 || (uint32_t)size % FAAS_RECORD_SIZE != 0)
        return WAVEN_EINVAL;
    if (faas_out_name == NULL)
        faas_out = stage_private_output();
    faas_bytes = (uint32_t)size;
    faas_zero_copy = zero_copy != 0;
    return 0;
}

FAAS_EXPORT(faas_input)
int32_t faas_input(void) { return (int32_t)(uintptr_t)faas_in; }

FAAS_EXPORT(faas_output)
int32_t faas_output(void) { return (int32_t)(uintptr_t)faas_out; }

FAAS_EXPORT(faas_size)
int32_t faas_size(void) { return (int32_t)faas_bytes; }

FAAS_EXPORT(faas_run)
int32_t faas_run(void) {
    if (faas_bytes == 0)
        return WAVEN_EINVAL;
    stage_work(faas_in, faas_out, faas_bytes / FAAS_RECORD_SIZE);
    return 0;
}

FAAS_EXPORT(faas_tamper)
int32_t faas_tamper(void) {
    if (faas_out_name == NULL || faas_out == NULL || !faas_zero_copy) {
        printf("%s: nothing handed on in a region\n", FAAS_STAGE);
        return 0;
    }
    /* The region's name without "host/". */
    const char *label = faas_out_name + sizeof FAAS_HOST - 1;
    int32_t r = waven_protect(faas_out, faas_bytes, WAVEN_RW);
    printf("%s: protect(%s, RW) after the hand-off = %ld (%s)\n", FAAS_STAGE,
           label, (long)r, waven_strerror(r));
    int refused = waven_is_error(r);
    waven_handle_t h = waven_open_str(faas_out_name);
    r = waven_is_error(h) ? h : waven_map(h, WAVEN_MAP_ANYWHERE, WAVEN_RW);
    printf("%s: map(%s, ANYWHERE, RW) again = %ld (%s)\n", FAAS_STAGE, label,
           (long)r, waven_strerror(r));
    refused += waven_is_error(r);
    if (!waven_is_error(h))
        waven_close(h);
    printf("%s: storing into %s at 0x%lx\n", FAAS_STAGE, label,
           (unsigned long)(uintptr_t)faas_out);
    fflush(stdout);
    ((volatile uint8_t *)faas_out)[0] ^= 0xff;
    printf("%s: the store went through\n", FAAS_STAGE);
    return refused;
}

static double faas_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/** The stage as a command: zero-copy through the regions, with a report. */
static int faas_main(void) {
    int32_t r = faas_setup(0, 1);
    if (waven_is_error(r)) {
        printf("%s: cannot map %s%s%s: %ld (%s)\n", FAAS_STAGE,
               faas_in_name != NULL ? faas_in_name : "",
               faas_in_name != NULL && faas_out_name != NULL ? " and " : "",
               faas_out_name != NULL ? faas_out_name : "", (long)r, waven_strerror(r));
        return 1;
    }
    double start = faas_now_ms();
    faas_run();
    double ms = faas_now_ms() - start;
    printf("%s: %lu records of %lu bytes in %.1f ms (%s%s%s%s, no copy)\n",
           FAAS_STAGE, (unsigned long)(faas_bytes / FAAS_RECORD_SIZE),
           (unsigned long)FAAS_RECORD_SIZE, ms,
           faas_in_name != NULL ? "read " : "", faas_in_name != NULL ? faas_in_name : "",
           faas_in_name != NULL && faas_out_name != NULL ? ", wrote " : (faas_out_name != NULL ? "wrote " : ""),
           faas_out_name != NULL ? faas_out_name : "");
    stage_report(faas_in, faas_out, faas_bytes / FAAS_RECORD_SIZE);
    return 0;
}

#endif /* FAAS_H */
