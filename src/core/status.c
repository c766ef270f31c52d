/* SPDX-License-Identifier: Apache-2.0 */
/* Status codes, their names and texts, and the run-time version. */
#include "core/internal.h"

typedef struct status_text {
    int code;
    const char *name;
    const char *text;
} status_text;

static const status_text STATUS_TEXTS[] = {
    {RISK_OK, "RISK_OK", "success"},
    {RISK_ENULL, "RISK_ENULL", "a required handle or output pointer was NULL"},
    {RISK_EINVAL, "RISK_EINVAL", "an argument is out of range, NaN or infinite"},
    {RISK_ENOTFOUND, "RISK_ENOTFOUND", "an id or symbol names nothing"},
    {RISK_EDUPLICATE, "RISK_EDUPLICATE", "a symbol, account id or position leg already exists"},
    {RISK_ELOT, "RISK_ELOT", "a quantity is not a whole number of lots"},
    {RISK_ETICK, "RISK_ETICK", "a price is not a whole number of ticks"},
    {RISK_ELEVERAGE, "RISK_ELEVERAGE", "leverage above the margin schedule's maximum"},
    {RISK_ETIERS, "RISK_ETIERS", "tiers are not increasing or a tier field is out of range"},
    {RISK_ESTATE, "RISK_ESTATE", "the call does not fit the object's state or mode"},
    {RISK_EVERSION, "RISK_EVERSION", "unknown struct version"},
    {RISK_EBUFFER, "RISK_EBUFFER", "output array too small"},
    {RISK_EENGINE, "RISK_EENGINE", "handles of different engines were mixed"},
    {RISK_ELIMIT, "RISK_ELIMIT", "a position would exceed its instrument's maximum notional"},
    {RISK_ECORRUPT, "RISK_ECORRUPT", "snapshot truncated, corrupt or not a snapshot"},
    {RISK_ENOPRICE, "RISK_ENOPRICE", "a needed price is missing or not positive"},
    {RISK_ENOMEM, "RISK_ENOMEM", "out of memory"},
    {RISK_ETHREAD, "RISK_ETHREAD", "a worker thread could not be started"},
    {RISK_EIO, "RISK_EIO", "a file could not be read or written"},
    {RISK_EINTERNAL, "RISK_EINTERNAL", "internal error (a bug in librisk)"},
};

static const status_text *status_find(int code)
{
    for (size_t i = 0; i < sizeof STATUS_TEXTS / sizeof STATUS_TEXTS[0]; i++)
        if (STATUS_TEXTS[i].code == code)
            return &STATUS_TEXTS[i];
    return NULL;
}

RISK_API const char *risk_strerror(int code)
{
    const status_text *s = status_find(code);
    return s ? s->text : "unknown status";
}

RISK_API const char *risk_errname(int code)
{
    const status_text *s = status_find(code);
    return s ? s->name : "RISK_UNKNOWN";
}

RISK_API const char *risk_version_string(void)
{
    return RISK_VERSION_STRING;
}

RISK_API uint32_t risk_version_number(void)
{
    return (uint32_t)RISK_VERSION_NUMBER;
}
