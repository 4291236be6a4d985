/* parse.h: strict parsers for configuration values.  Each accepts the whole string or
 * fails: trailing garbage, empty input, a sign where none belongs and overflow are errors.
 * They return 0 on success and -1 (value untouched) on failure. */
#ifndef REMOTEIO_PARSE_H
#define REMOTEIO_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* "4096", "64K", "1.5M", "2G", "1T" (binary multiples; an optional trailing "B"/"iB"). */
int parse_size(const char *s, uint64_t *out);
/* A non-negative integer, no suffix. */
int parse_uint(const char *s, uint64_t *out);
/* Seconds: "10", "2.5", "500ms", "3s", "2m". Result in milliseconds. */
int parse_duration_ms(const char *s, uint64_t *out);
/* 1/0, yes/no, true/false, on/off (case-insensitive). */
int parse_bool(const char *s, bool *out);
/* The value of a hexadecimal digit, either case, or -1. */
int parse_hex_digit(char c);

#endif
