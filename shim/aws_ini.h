/* aws_ini.h: the AWS shared files (~/.aws/credentials, ~/.aws/config) as the AWS CLI
 * reads them (Python's configparser, strict): one profile's settings out of a file's text.
 *
 * Sections: in the credentials file [NAME]; in the config file [profile NAME] and
 * [default] (also [profile default]); other sections ([sso-session x], [services x]) are
 * skipped.  Lines: "key = value" or "key: value" (key case-insensitive, both sides
 * trimmed, no inline comments: '#' inside a value is the value's); whole-line comments
 * starting with '#' or ';'; an indented line continues the key before it (nested
 * settings such as "s3 =\n  addressing_style = path"); CRLF line ends; a UTF-8 BOM.
 * Refused, as the CLI refuses the whole file: a line that is neither, a key before any
 * section, a key twice in the wanted section, the wanted section twice.  Messages name
 * the line and the key, never a value.  Pure functions: no state, no locks. */
#ifndef REMOTEIO_AWS_INI_H
#define REMOTEIO_AWS_INI_H

#include <stdbool.h>
#include <stddef.h>

enum aws_ini_file { AWS_INI_CREDENTIALS, AWS_INI_CONFIG };

/* The settings of one profile the credential chain uses; has_* says which were present
 * (a present key may have an empty value). */
struct aws_profile_settings {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096]; /* aws_session_token, or the older aws_security_token */
    char region[64];
    char credential_process[4096];
    bool has_access_key_id, has_secret_access_key, has_session_token, has_region,
        has_credential_process;
};

/* The settings of profile in text (len bytes), added to *out (which the caller zeroes
 * first): 1 when the profile's section is there, 0 when it is not, -1 when the file is
 * malformed (why says where and what, with no value in it). */
int aws_ini_profile(const char *text, size_t len, enum aws_ini_file kind, const char *profile,
                    struct aws_profile_settings *out, char *why, size_t whylen);

/* The whole of a shared file (at most AWS_INI_MAX_BYTES) in a malloc'd NUL-terminated
 * buffer, read with raw system calls: 0, -ENOENT (no such file), or another negative
 * errno (-EFBIG when too large).  Free it with aws_ini_free, which wipes it first. */
#define AWS_INI_MAX_BYTES (4u << 20)
int aws_ini_read_file(const char *path, char **text, size_t *len);
void aws_ini_free(char *text, size_t len);

#endif
