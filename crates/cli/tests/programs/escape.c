/* Sandbox-escape attempts. Tries to open paths that lie outside every
 * preopened directory; argv[1..] are extra paths to try (e.g. a symlink
 * inside the preopen that points outside it). Prints "blocked: PATH: ERR"
 * or "OPENED: PATH" for each, and exits 0 only if all were blocked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int opened = 0;

static void attempt(const char *path) {
    errno = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("blocked: %s: %s\n", path, strerror(errno));
    } else {
        printf("OPENED: %s\n", path);
        opened++;
        close(fd);
    }
}

int main(int argc, char **argv) {
    attempt("../outside.txt");
    attempt("/etc/passwd");
    for (int i = 1; i < argc; i++)
        attempt(argv[i]);
    if (opened) {
        printf("%d escape(s) succeeded\n", opened);
        return 1;
    }
    printf("all blocked\n");
    return 0;
}
