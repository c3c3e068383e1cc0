/* list_dir [DIR]: prints the entries of DIR (default ".") sorted by name,
 * skipping "." and "..", with the total count at the end. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : ".";
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "list_dir: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            names = realloc(names, cap * sizeof *names);
            if (!names) {
                fprintf(stderr, "list_dir: out of memory\n");
                return 1;
            }
        }
        names[count++] = strdup(e->d_name);
    }
    if (errno != 0) {
        fprintf(stderr, "list_dir: readdir %s: %s\n", path, strerror(errno));
        return 1;
    }
    closedir(d);
    qsort(names, count, sizeof *names, cmp);
    for (size_t i = 0; i < count; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    free(names);
    printf("%zu entries\n", count);
    return 0;
}
