/* zf_partial.h - decode only the part of a chunk a read needs. */
#ifndef ZF_PARTIAL_H
#define ZF_PARTIAL_H
#endif /* ZF_PARTIAL_H */
