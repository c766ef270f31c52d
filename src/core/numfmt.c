/* Numbers in messages: the shortest decimal that reads back as the same double. */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>

const char *risk__fmt_double(char *buf, size_t size, double x)
{
    if (!buf || size == 0)
        return "";
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "nan" : x > 0.0 ? "inf" : "-inf");
        return buf;
    }
    /* %.17g always round-trips; the first shorter precision that does is the shortest. */
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, x);
        if (strtod(buf, NULL) == x)
            return buf;
    }
    return buf;
}
