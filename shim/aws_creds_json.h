/* aws_creds_json.h: the JSON documents credential sources answer with, and their
 * ISO-8601 expiration times.
 *
 * credential_process prints {"Version": 1, "AccessKeyId", "SecretAccessKey",
 * "SessionToken"?, "Expiration"?} (Version must be the number 1); the container endpoint
 * and the instance metadata service answer {"AccessKeyId", "SecretAccessKey", "Token",
 * "Expiration"} (and "Code": "Success" from the metadata service).  Unknown members are
 * skipped, whatever their type.  Messages name the member, never a value.  Pure
 * functions: no state, no locks. */
#ifndef REMOTEIO_AWS_CREDS_JSON_H
#define REMOTEIO_AWS_CREDS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "aws_creds.h"

enum aws_json_kind { AWS_JSON_PROCESS, AWS_JSON_ENDPOINT };

/* Fills out's keys, token and expires_ms (not its source) from text (len bytes): 0, or
 * -1 with why ("no AccessKeyId", "Version is not 1", "not JSON at byte 12"). */
int aws_json_credentials(const char *text, size_t len, enum aws_json_kind kind,
                         struct aws_credentials *out, char *why, size_t whylen);

/* "2026-12-01T23:38:08Z", with fractions of a second, a 't' or ' ' for the 'T', an
 * offset (+01:00, -0530, +05) or no zone (UTC), into ms since the epoch: 0, or -1. */
int aws_iso8601_ms(const char *s, size_t len, uint64_t *ms);

#endif
