/* One tenant of the thousand-tenant run (crates/cli/tests/thousand_tenants.rs):
 * allocates 1 MiB with malloc (clang declares no memory maximum, so the
 * memory grows for it), writes every byte from a pattern that depends on
 * the seed in argv[1], reads it all back into an FNV-1a checksum and prints
 * it. The test computes the same checksum for every seed. Output goes
 * through write(2), not printf, to keep the module small: a thousand
 * tenants each compile it today. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BYTES (1u << 20)

static void say(const char *text) { write(1, text, strlen(text)); }

int main(int argc, char **argv) {
    uint32_t seed = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 0;
    unsigned char *buf = malloc(BYTES);
    if (!buf) {
        say("malloc failed\n");
        return 1;
    }
    for (uint32_t i = 0; i < BYTES; i++)
        buf[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 12));
    /* Seeds 256 apart write the same bytes: the seed enters the hash too. */
    uint32_t hash = 2166136261u ^ (seed * 0x9e3779b9u);
    for (uint32_t i = 0; i < BYTES; i++) {
        hash ^= buf[i];
        hash *= 16777619u;
    }
    /* "seed N: 1048576 bytes, checksum XXXXXXXX" */
    char line[64] = "seed ";
    char digits[11];
    int n = 0;
    do {
        digits[n++] = (char)('0' + seed % 10);
        seed /= 10;
    } while (seed);
    int at = 5;
    while (n)
        line[at++] = digits[--n];
    memcpy(line + at, ": 1048576 bytes, checksum ", 26);
    at += 26;
    for (int shift = 28; shift >= 0; shift -= 4)
        line[at++] = "0123456789abcdef"[(hash >> shift) & 15];
    line[at++] = '\n';
    write(1, line, (size_t)at);
    free(buf);
    return 0;
}
