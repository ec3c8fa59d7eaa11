/* A minimal test harness: CHECK records a failure with its line and goes on; main returns the count. */
#ifndef LICENTIA_TEST_HARNESS_H
#define LICENTIA_TEST_HARNESS_H
#include <stdio.h>

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

#define REPORT(name)                                                                     \
    (fprintf(stderr, "%s: %d checks, %d failed\n", name, checks, failures), failures ? 1 : 0)

#endif
