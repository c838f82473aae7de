/* zf_partial.c - decode only the part of a chunk a read needs. */
#include "zf_partial.h"
