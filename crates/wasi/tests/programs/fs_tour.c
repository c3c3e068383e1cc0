/* fs_tour: drives wasi-libc's POSIX layer over waven's WASI. Run with the
 * argument "arg", the environment TOUR=yes and a writable directory
 * preopened as "."; prints "tour ok" or the first failed check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("FAIL line %d: %s (errno %d: %s)\n", __LINE__, #cond, errno, \
                   strerror(errno));                                             \
            return 1;                                                            \
        }                                                                        \
    } while (0)

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    CHECK(argc == 2 && strcmp(argv[1], "arg") == 0);
    CHECK(getenv("TOUR") != NULL && strcmp(getenv("TOUR"), "yes") == 0);

    /* stdio files */
    CHECK(mkdir("tour", 0755) == 0);
    CHECK(mkdir("tour", 0755) < 0 && errno == EEXIST);
    FILE *f = fopen("tour/a.txt", "w");
    CHECK(f != NULL);
    CHECK(fprintf(f, "line one\nline two\n") == 18);
    CHECK(fclose(f) == 0);
    f = fopen("tour/a.txt", "a");
    CHECK(f != NULL && fputs("three\n", f) >= 0 && fclose(f) == 0);
    struct stat st;
    CHECK(stat("tour/a.txt", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 24);
    f = fopen("tour/a.txt", "r");
    char line[64];
    CHECK(f != NULL && fgets(line, sizeof line, f) && strcmp(line, "line one\n") == 0);
    CHECK(fseek(f, -6, SEEK_END) == 0 && ftell(f) == 18);
    CHECK(fgets(line, sizeof line, f) && strcmp(line, "three\n") == 0);
    CHECK(fclose(f) == 0);

    /* descriptors */
    int fd = open("tour/a.txt", O_RDWR);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    char buf[16] = {0};
    CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "one", 3) == 0);
    CHECK(pread(fd, buf, 3, 14) == 3 && memcmp(buf, "two", 3) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 8);
    CHECK(pwrite(fd, "LINE", 4, 0) == 4);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 24);
    CHECK(close(fd) == 0);
    CHECK(close(fd) < 0 && errno == EBADF);
    CHECK(open("tour/missing", O_RDONLY) < 0 && errno == ENOENT);
    CHECK(open("tour/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);

    /* symlinks inside the sandbox */
    CHECK(symlink("a.txt", "tour/link") == 0);
    ssize_t n = readlink("tour/link", buf, sizeof buf);
    CHECK(n == 5 && memcmp(buf, "a.txt", 5) == 0);
    CHECK(lstat("tour/link", &st) == 0 && S_ISLNK(st.st_mode));
    f = fopen("tour/link", "r");
    CHECK(f != NULL && fgets(line, sizeof line, f) && strcmp(line, "LINE one\n") == 0);
    fclose(f);

    /* the sandbox holds */
    errno = 0;
    CHECK(open("../outside", O_RDONLY) < 0 && errno == EPERM);
    CHECK(open("tour/../../outside", O_RDONLY) < 0);
    CHECK(symlink("../../etc/passwd", "tour/evil") < 0);
    CHECK(symlink("/etc/passwd", "tour/evil") < 0);
    CHECK(open("/etc/passwd", O_RDONLY) < 0);

    /* rename, directories, listing */
    CHECK(mkdir("tour/sub", 0755) == 0);
    CHECK(rename("tour/a.txt", "tour/sub/b.txt") == 0);
    CHECK(stat("tour/a.txt", &st) < 0 && errno == ENOENT);
    CHECK(rmdir("tour/sub") < 0 && errno == ENOTEMPTY);
    DIR *d = opendir("tour");
    CHECK(d != NULL);
    char *names[8];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 8)
        names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof *names, cmp);
    CHECK(count == 4);
    CHECK(strcmp(names[0], ".") == 0 && strcmp(names[1], "..") == 0);
    CHECK(strcmp(names[2], "link") == 0 && strcmp(names[3], "sub") == 0);
    CHECK(unlink("tour/link") == 0 && unlink("tour/sub/b.txt") == 0);
    CHECK(rmdir("tour/sub") == 0 && rmdir("tour") == 0);

    /* clocks and randomness */
    struct timespec a, b, pause = {0, 20 * 1000 * 1000};
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    CHECK(nanosleep(&pause, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    long long waited = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    CHECK(waited >= 20 * 1000 * 1000);
    CHECK(time(NULL) > 1600000000);
    unsigned char r1[32] = {0}, r2[32] = {0};
    CHECK(getentropy(r1, sizeof r1) == 0 && getentropy(r2, sizeof r2) == 0);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);

    printf("tour ok\n");
    return 0;
}
