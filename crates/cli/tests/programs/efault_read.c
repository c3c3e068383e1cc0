/* efault_read [FILE]: calls read() with a buffer that lies past the end of
 * linear memory. A runtime that returns an error (EFAULT) instead of
 * trapping must not consume input; the file (or stdin) is then read
 * normally and its first line printed. (Wasmtime traps here instead.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd = 0;
    if (argc > 1) {
        fd = open(argv[1], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "efault_read: cannot open %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
    }
    /* 16 bytes before (end of memory + 4096): wholly outside linear memory. */
    unsigned long end = (unsigned long)__builtin_wasm_memory_size(0) * 65536;
    char *bad = (char *)(end + 4096 - 16);
    /* Flush first so this line shows even if the runtime traps instead. */
    printf("calling read(%d, <end of memory + 4080>, 64)\n", fd);
    fflush(stdout);
    errno = 0;
    ssize_t r = read(fd, bad, 64);
    int err = errno;
    printf("read returned %zd errno=%d (%s)\n", r, err, r < 0 ? strerror(err) : "no error");

    char line[256];
    ssize_t n = 0;
    /* Read byte by byte up to the first newline so nothing is buffered. */
    while (n < (ssize_t)sizeof line - 1) {
        ssize_t k = read(fd, line + n, 1);
        if (k <= 0)
            break;
        if (line[n++] == '\n')
            break;
    }
    line[n] = '\0';
    printf("first line: %s", line);
    if (n == 0 || line[n - 1] != '\n')
        printf("\n");
    return 0;
}
