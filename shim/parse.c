/* parse.c: see parse.h.  Hand-written rather than strtoull so that signs, spaces and
 * overflow are rejected instead of being silently wrapped or skipped. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "parse.h"

/* Digits with an optional fraction: value scaled by 10^frac_digits. */
static const char *parse_decimal(const char *s, uint64_t *whole, uint64_t *frac, uint64_t *frac_scale)
{
    uint64_t w = 0, f = 0, scale = 1;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return NULL;
    for (; isdigit((unsigned char)*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (w > (UINT64_MAX - d) / 10)
            return NULL;
        w = w * 10 + d;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        for (; isdigit((unsigned char)*p); p++) {
            if (scale < 1000000000ULL) { /* keep nine digits, ignore the rest */
                f = f * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
    }
    *whole = w;
    *frac = f;
    *frac_scale = scale;
    return p;
}

/* value * mult, where value = whole + frac/scale; -1 on overflow. */
static int scale_value(uint64_t whole, uint64_t frac, uint64_t scale, uint64_t mult, uint64_t *out)
{
    if (mult && whole > UINT64_MAX / mult)
        return -1;
    uint64_t v = whole * mult;
    /* frac/scale < 1, so frac * (mult/scale) fits whenever mult does. */
    unsigned __int128 extra = (unsigned __int128)frac * mult / scale;
    if (extra > UINT64_MAX - v)
        return -1;
    *out = v + (uint64_t)extra;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    uint64_t w, f, sc, mult = 1;
    const char *p = s ? parse_decimal(s, &w, &f, &sc) : NULL;
    if (!p)
        return -1;
    switch (toupper((unsigned char)*p)) {
    case 'K': mult = 1ULL << 10; p++; break;
    case 'M': mult = 1ULL << 20; p++; break;
    case 'G': mult = 1ULL << 30; p++; break;
    case 'T': mult = 1ULL << 40; p++; break;
    default: break;
    }
    if (mult > 1 && (p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
        p += 2;
    else if (*p == 'B' || *p == 'b')
        p++;
    if (*p != '\0')
        return -1;
    if (mult == 1 && f != 0)
        return -1; /* a fraction of a byte */
    return scale_value(w, f, sc, mult, out);
}

int parse_uint(const char *s, uint64_t *out)
{
    uint64_t w, f, sc;
    const char *p = s ? parse_decimal(s, &w, &f, &sc) : NULL;
    if (!p || *p != '\0' || sc != 1)
        return -1;
    *out = w;
    return 0;
}

int parse_duration_ms(const char *s, uint64_t *out)
{
    uint64_t w, f, sc, mult = 1000;
    const char *p = s ? parse_decimal(s, &w, &f, &sc) : NULL;
    if (!p)
        return -1;
    if (strcasecmp(p, "ms") == 0)
        mult = 1;
    else if (strcasecmp(p, "s") == 0 || *p == '\0')
        mult = 1000;
    else if (strcasecmp(p, "m") == 0 || strcasecmp(p, "min") == 0)
        mult = 60000;
    else if (strcasecmp(p, "h") == 0)
        mult = 3600000;
    else
        return -1;
    return scale_value(w, f, sc, mult, out);
}

int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off" };
    if (!s)
        return -1;
    for (unsigned i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

int parse_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
