/*
 * greeting.h - layout of the "greeting" region that producer.c shares and
 * consumer.c / attacker.c map. Two waven pages: a header with a text message
 * in the first, a table of numbers filling the second.
 */
#ifndef GREETING_H
#define GREETING_H

#include <stdint.h>
#include "waven.h"

/* The producer shares the region under this name, in its own namespace. */
#define GREETING_REGION "greeting"
/*
 * Region names are scoped by their owner: others open the producer's
 * region as "producer/greeting" (the producer runs as instance "producer";
 * a "greeting" that another tenant shared is another region).
 */
#define GREETING_OWNER "producer"
#define GREETING_PATH GREETING_OWNER "/" GREETING_REGION
#define GREETING_MAGIC 0x4e564157u /* "WAVN" in little-endian bytes */
#define GREETING_DATA_COUNT (WAVEN_PAGE_SIZE / sizeof(uint32_t))

struct greeting {
    /* page 0 */
    uint32_t magic;    /* GREETING_MAGIC once the producer is done writing */
    uint32_t msg_len;  /* bytes of msg, without the NUL */
    uint32_t checksum; /* greeting_checksum(data) */
    char msg[WAVEN_PAGE_SIZE - 3 * sizeof(uint32_t)];
    /* page 1 */
    uint32_t data[GREETING_DATA_COUNT];
};

_Static_assert(sizeof(struct greeting) == 2 * WAVEN_PAGE_SIZE,
               "the greeting region is exactly two pages");

/* FNV-1a over the data words: the consumer checks it sees what was written. */
static inline uint32_t greeting_checksum(const volatile uint32_t *data) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < GREETING_DATA_COUNT; i++) {
        h ^= data[i];
        h *= 16777619u;
    }
    return h;
}

#endif
