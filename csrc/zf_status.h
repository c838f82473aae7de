/* zf_status.h - status codes shared by every zarrfast C routine.
 *
 * Every function in csrc/ returns an int status: ZF_OK (0) on success or one of the
 * negative codes below.  Worker threads never raise; the Python layer turns these codes
 * into exceptions (zarrfast._native._codecs.status_message gives the text).
 */
#ifndef ZF_STATUS_H
#define ZF_STATUS_H

enum {
    ZF_OK = 0,
    ZF_ERR_CORRUPT = -1,       /* encoded data is malformed */
    ZF_ERR_TRUNCATED = -2,     /* encoded data ends early */
    ZF_ERR_DST_FULL = -3,      /* output does not fit in the destination capacity */
    ZF_ERR_SIZE_MISMATCH = -4, /* decoded size differs from the size declared/expected */
    ZF_ERR_NOMEM = -5,         /* an allocation failed */
    ZF_ERR_PARAM = -6,         /* invalid parameter (level, typesize, kind...) */
    ZF_ERR_UNSUPPORTED = -7,   /* codec/feature not available in this build */
    ZF_ERR_CHECKSUM = -8,      /* a stored checksum does not match */
    ZF_ERR_TOO_LARGE = -9,     /* input or declared size exceeds the format's limit */
    ZF_ERR_SIZE_UNKNOWN = -10, /* the decoded size cannot be known without decoding */
    ZF_ERR_TRAILING = -11,     /* unexpected bytes after the end of the encoded data */
    ZF_ERR_INTERNAL = -12      /* a library failed in an unexpected way */
};

/* Static text for a status code (never NULL). */
const char *zf_status_message(int status);

#endif /* ZF_STATUS_H */
