/*
 * crc32: the reflected CRC-32 of IEEE 802.3 / zlib (polynomial 0xEDB88320),
 * table-driven one byte at a time, checked against the standard check
 * value of "123456789", then run R times over a generated buffer, each
 * pass continuing from the previous CRC and flipping one byte chosen by it.
 *
 * Exercises: byte loads, a dependent table lookup per byte (load address
 * computed from the previous result), shifts and xors in a tight loop.
 */
#include "common.h"

/* ---- kernel ---- */

static uint32_t crc_table[256];

/* Builds the byte table bit by bit from the reflected polynomial. */
static void crc32_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_table[b] = c;
    }
}

/* Continues a CRC (0 to start) over data[0..len). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t len)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

int main(int argc, char **argv)
{
    int quick = quick_size(argc, argv);
    size_t len = quick ? (size_t)1 << 18 : (size_t)1 << 20;
    uint32_t passes = quick ? 1 : 20;

    crc32_init();
    if (crc32_update(0, (const uint8_t *)"123456789", 9) != 0xCBF43926u) {
        fprintf(stderr, "crc32: self-test failed\n");
        return 1;
    }

    uint8_t *buf = malloc(len);
    if (!buf) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = rng_next();
        for (size_t j = 0; j < 8 && i + j < len; j++)
            buf[i + j] = (uint8_t)(r >> (8 * j));
    }

    uint64_t h = CHECKSUM_INIT;
    uint32_t crc = 0;
    for (uint32_t p = 0; p < passes; p++) {
        crc = crc32_update(crc, buf, len);
        buf[crc % len] ^= (uint8_t)(crc >> 24);
        h = mix(h, crc);
    }
    printf("checksum: %016llx\n", (unsigned long long)h);
    free(buf);
    return 0;
}
