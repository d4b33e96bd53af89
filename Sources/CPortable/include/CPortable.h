#ifndef TAPEBOOK_CPORTABLE_H
#define TAPEBOOK_CPORTABLE_H
#include <stddef.h>

/// snprintf with one double argument: Swift cannot call the variadic C function, and going through
/// CVarArg costs two dynamic casts per argument (the first of each a search of every protocol
/// conformance in the binary).
int tapebook_format_double(char *buffer, size_t size, const char *format, double value);

#endif
