/* fuzz-config.c: libFuzzer target for REMOTEIO_MAP and configuration-file parsing, the
 * mapping lookup, path normalisation and URL building that follow from them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet++)
        log_init(-1, NULL);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct config c;
    config_defaults(&c);
    if (size && data[0] & 1)
        config_parse_file(&c, text, "fuzz");
    else
        config_parse_map(&c, text, "fuzz");
    char norm[4096];
    if (text[0] == '/' && path_normalise_absolute(text, norm, sizeof norm) == 0) {
        const char *rest;
        const struct mapping *m = config_match(&c, norm, &rest);
        if (m && m->prefix)
            free(url_append_path(m->url, rest));
        config_is_prefix_dir(&c, norm);
    }
    for (size_t i = 0; i < c.nmaps; i++)
        (void)config_mapping_options(&c, &c.maps[i]);
    config_free(&c);
    free(text);
    return 0;
}
