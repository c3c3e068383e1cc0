/* file_copy SRC DST: copies SRC to DST with stdio, prints the byte count.
 * Exits 1 with a message on stderr on any error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: file_copy SRC DST\n");
        return 1;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        fprintf(stderr, "file_copy: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        fprintf(stderr, "file_copy: cannot create %s: %s\n", argv[2], strerror(errno));
        fclose(in);
        return 1;
    }
    char buf[1000]; /* deliberately not a power of two */
    unsigned long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (fwrite(buf, 1, n, out) != n) {
            fprintf(stderr, "file_copy: write to %s failed: %s\n", argv[2], strerror(errno));
            return 1;
        }
        total += n;
    }
    if (ferror(in)) {
        fprintf(stderr, "file_copy: read from %s failed: %s\n", argv[1], strerror(errno));
        return 1;
    }
    fclose(in);
    if (fclose(out) != 0) {
        fprintf(stderr, "file_copy: close of %s failed: %s\n", argv[2], strerror(errno));
        return 1;
    }
    printf("copied %lu bytes from %s to %s\n", total, argv[1], argv[2]);
    return 0;
}
