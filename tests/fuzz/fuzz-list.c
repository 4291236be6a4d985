/* fuzz-list.c: libFuzzer target for the ListObjectsV2 page parser (s3_list_xml.c): any
 * input either parses or is refused, every name it hands out is a usable directory
 * entry under the prefix, and a truncated page always has a token. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "s3_list_xml.h"

static int each(void *arg, const struct s3_list_item *it)
{
    (void)arg;
    size_t n = strlen(it->name);
    if (n != it->name_len || n == 0 || memchr(it->name, '/', n) || strcmp(it->name, ".") == 0 ||
        strcmp(it->name, "..") == 0 || it->size < 0 || (it->dir && it->size != 0))
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3_list_page page;
    static const char *const prefixes[] = { "", "tree/" };
    for (int i = 0; i < 2; i++) {
        int rc = s3_list_parse((const char *)data, size, prefixes[i], each, NULL, &page);
        if (rc == 0 && page.truncated && !page.next_token[0])
            __builtin_trap();
        if (rc != 0 && rc != -EBADMSG && rc != -ENAMETOOLONG && rc != -ENOMEM)
            __builtin_trap();
    }
    return 0;
}
