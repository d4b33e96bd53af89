#include <stdio.h>
#include "CPortable.h"

int tapebook_format_double(char *buffer, size_t size, const char *format, double value) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return snprintf(buffer, size, format, value);
#pragma GCC diagnostic pop
}
