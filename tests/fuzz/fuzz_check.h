/*
 * CHECK for the stateless fuzz targets (fuzz_wire, fuzz_fault): a broken
 * property prints where and why, then aborts, which libFuzzer reports as a
 * crash and saves the input. (fuzz_engine has FZ_CHECK, fuzz_model.h.)
 */
#ifndef TT_FUZZ_CHECK_H
#define TT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: ", __FILE__, __LINE__);                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
