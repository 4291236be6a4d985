/* unit.h: the counters and CHECK macro of the standalone unit tests (unit-*.c), which
 * end with printf("%d passed, %d failed\n", passed, failed). */
#ifndef REMOTEIO_TESTS_UNIT_H
#define REMOTEIO_TESTS_UNIT_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                               \
    do {                                                                               \
        if (cond) {                                                                    \
            passed++;                                                                  \
        } else {                                                                       \
            failed++;                                                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                \
            printf(__VA_ARGS__);                                                       \
            printf("\n");                                                              \
        }                                                                              \
    } while (0)

#endif
