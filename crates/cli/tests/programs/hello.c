/* Smallest WASI guest: one line to stdout, one line to stderr, exit 0. */
#include <stdio.h>

int main(void) {
    printf("hello, world\n");
    fprintf(stderr, "this line goes to stderr\n");
    return 0;
}
