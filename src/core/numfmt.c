/* SPDX-License-Identifier: Apache-2.0 */
/* Numbers in messages: the shortest decimal that reads back as the same double. */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (strtod(buf, NULL) != x)
            continue;
        /* plain notation between 1e-6 and 1e16 (1000800, not 1.0008e+06; 0.00001, not 1e-05):
         * the same p significant digits, as decimals */
        const char *e = strchr(buf, 'e');
        double ax = fabs(x);
        if (e && ax >= 1e-6 && ax < 1e16) {
            int exponent = atoi(e + 1);
            int decimals = p - 1 - exponent;
            snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, x);
        }
        return buf;
    }
    return buf;
}
