/* SPDX-License-Identifier: Apache-2.0 */
/* test_text.c: risk_text_rows (include/risk/bulk.h): numbers on their grid and shortest
 * numbers written as Python's repr writes them (the Python suite test_textrows.py compares
 * against repr itself over random values), labels, nested lists, a full buffer and resuming,
 * and every refusal before anything is written. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* One column of doubles written as rows "<value>\n"; returns the text (static buffer). */
static const char *one_column(uint32_t kind, int decimals, const double *values, size_t n)
{
    static char out[4096];
    const char *pieces[] = {"", "\n"};
    risk_text_column col = RISK_TEXT_COLUMN_INIT;
    col.kind = kind;
    col.values = values;
    col.decimals = decimals;
    size_t rows = 0, bytes = 0;
    tu_assert_status(risk_text_rows(pieces, &col, 1, n, out, sizeof out - 1, &rows, &bytes, NULL), RISK_OK);
    assert_int_equal(rows, n);
    out[bytes] = '\0';
    return out;
}

static void expect_grid(double x, int d, const char *want)
{
    char line[64];
    snprintf(line, sizeof line, "%s\n", want);
    assert_string_equal(one_column(RISK_TEXT_GRID, d, &x, 1), line);
}

static void expect_shortest(double x, const char *want)
{
    char line[64];
    snprintf(line, sizeof line, "%s\n", want);
    assert_string_equal(one_column(RISK_TEXT_SHORTEST, 0, &x, 1), line);
}

static void test_text_grid_numbers_as_python_repr_of_round(void **state)
{
    (void)state;
    expect_grid(0.1 * 3.0, 1, "0.3");             /* 0.30000000000000004 on the grid */
    expect_grid(0.1 * 139453.0, 4, "13945.3");    /* 13945.300000000001 */
    expect_grid(2.675, 2, "2.67");                /* the double lies below 2.675 */
    expect_grid(0.125, 2, "0.12");                /* an exact tie: half-even */
    expect_grid(0.375, 2, "0.38");
    expect_grid(-0.125, 2, "-0.12");
    expect_grid(2.5, 0, "2.0");
    expect_grid(3.5, 0, "4.0");
    expect_grid(123.0, 0, "123.0");
    expect_grid(-1e-7, 6, "0.0");                 /* -0.0 printed as 0.0 */
    expect_grid(-0.0, 3, "0.0");
    expect_grid(5e-5, 6, "5e-05");                /* repr's exponent below 1e-4 */
    expect_grid(1.5e-5, 8, "1.5e-05");
    expect_grid(0.0001, 6, "0.0001");
    expect_grid(65000.1, 1, "65000.1");
    expect_grid(1e15, 2, "1000000000000000.0");
    expect_grid(123456789.123456789, 6, "123456789.123457");
    expect_grid(1e300, 2, "1e+300");              /* far off the grid's scale */
    expect_grid(-1.7976931348623157e308, 8, "-1.7976931348623157e+308");
    expect_grid(9007199254740993.0, 2, "9007199254740992.0");
    expect_grid(NAN, 2, "null");
    expect_grid(INFINITY, 2, "null");
    expect_grid(-INFINITY, 0, "null");
    expect_grid(0.1 + 0.2, 22, "0.30000000000000004");
    expect_grid(-5e-12, 11, "0.0");               /* x * 1e11 = -0.49999999999999994: not a tie */
    expect_grid(-1.4999999999999998, 0, "-1.0");
    expect_grid(-2.5, 0, "-2.0");
    expect_grid(-0.0005, 3, "-0.001");            /* the double lies above 0.0005 in magnitude */
}

static void test_text_shortest_numbers_as_python_repr(void **state)
{
    (void)state;
    expect_shortest(0.1 + 0.2, "0.30000000000000004");
    expect_shortest(0.1, "0.1");
    expect_shortest(1.0 / 3.0, "0.3333333333333333");
    expect_shortest(2.0 / 3.0, "0.6666666666666666");
    expect_shortest(100.0, "100.0");
    expect_shortest(1e16, "1e+16");
    expect_shortest(1e15, "1000000000000000.0");
    expect_shortest(123456789012345678.0, "1.2345678901234568e+17");
    expect_shortest(1e-5, "1e-05");
    expect_shortest(0.0001, "0.0001");
    expect_shortest(-2.5e-7, "-2.5e-07");
    expect_shortest(1e100, "1e+100");
    expect_shortest(5e-324, "5e-324");
    expect_shortest(2.2250738585072014e-308, "2.2250738585072014e-308");
    expect_shortest(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_shortest(9007199254740993.0, "9007199254740992.0");
    expect_shortest(ldexp(1.0, -808), "5.858190679279809e-244"); /* a power of two: the 16-digit
                                                                    neighbour above, not the nearer one below */
    expect_shortest(-0.0, "0.0");
    expect_shortest(0.0, "0.0");
    expect_shortest(NAN, "null");
    expect_shortest(-INFINITY, "null");
}

static void test_text_per_row_decimals_labels_and_uints(void **state)
{
    (void)state;
    const double qty[] = {0.1 * 3.0, 1.23456, 2.5};
    const uint32_t inst[] = {0, 1, 2};
    const int32_t decimals_of[] = {1, 3, 0};
    const uint64_t ids[] = {0, 42, UINT64_MAX};
    const uint32_t side[] = {1, 2, 1};
    const char *sides[] = {"\"both\"", "\"long\"", "\"short\""};
    risk_text_column cols[3] = {RISK_TEXT_COLUMN_INIT, RISK_TEXT_COLUMN_INIT, RISK_TEXT_COLUMN_INIT};
    cols[0].kind = RISK_TEXT_UINT;
    cols[0].values = ids;
    cols[1].kind = RISK_TEXT_LABEL;
    cols[1].values = side;
    cols[1].labels = sides;
    cols[1].n_keys = 3;
    cols[2].kind = RISK_TEXT_GRID;
    cols[2].values = qty;
    cols[2].keys = inst;
    cols[2].decimals_of = decimals_of;
    cols[2].n_keys = 3;
    const char *pieces[] = {"{\"id\": ", ", \"side\": ", ", \"qty\": ", "}\n"};
    char out[256];
    uint64_t offsets[4];
    size_t rows = 0, bytes = 0;
    tu_assert_status(risk_text_rows(pieces, cols, 3, 3, out, sizeof out, &rows, &bytes, offsets), RISK_OK);
    const char *want = "{\"id\": 0, \"side\": \"long\", \"qty\": 0.3}\n"
                       "{\"id\": 42, \"side\": \"short\", \"qty\": 1.235}\n"
                       "{\"id\": 18446744073709551615, \"side\": \"long\", \"qty\": 2.0}\n";
    assert_int_equal(rows, 3);
    assert_int_equal(bytes, strlen(want));
    assert_memory_equal(out, want, bytes);
    assert_int_equal(offsets[0], 0);
    assert_int_equal(offsets[1], strlen("{\"id\": 0, \"side\": \"long\", \"qty\": 0.3}\n"));
    assert_int_equal(offsets[3], bytes);
}

static void test_text_nested_lists_from_earlier_rows(void **state)
{
    (void)state;
    /* items: three positions; accounts with 2, 0 and 1 of them */
    const double px[] = {1.25, 2.5, 3.75};
    risk_text_column item = RISK_TEXT_COLUMN_INIT;
    item.kind = RISK_TEXT_GRID;
    item.values = px;
    item.decimals = 2;
    const char *item_pieces[] = {"{\"p\": ", "}"};
    char items[128];
    uint64_t item_offsets[4];
    size_t rows = 0, bytes = 0;
    tu_assert_status(risk_text_rows(item_pieces, &item, 1, 3, items, sizeof items, &rows, &bytes, item_offsets), RISK_OK);

    const uint64_t ids[] = {7, 8, 9};
    const uint32_t counts[] = {2, 0, 1};
    const char *list[] = {"[", ", ", "]", "[]"};
    risk_text_column acc[2] = {RISK_TEXT_COLUMN_INIT, RISK_TEXT_COLUMN_INIT};
    acc[0].kind = RISK_TEXT_UINT;
    acc[0].values = ids;
    acc[1].kind = RISK_TEXT_LIST;
    acc[1].values = counts;
    acc[1].labels = list;
    acc[1].n_keys = 4;
    acc[1].items = items;
    acc[1].item_offsets = item_offsets;
    acc[1].n_items = 3;
    const char *pieces[] = {"{\"id\": ", ", \"positions\": ", "}\n"};
    char out[256];
    tu_assert_status(risk_text_rows(pieces, acc, 2, 3, out, sizeof out, &rows, &bytes, NULL), RISK_OK);
    const char *want = "{\"id\": 7, \"positions\": [{\"p\": 1.25}, {\"p\": 2.5}]}\n"
                       "{\"id\": 8, \"positions\": []}\n"
                       "{\"id\": 9, \"positions\": [{\"p\": 3.75}]}\n";
    assert_int_equal(bytes, strlen(want));
    assert_memory_equal(out, want, bytes);

    /* a full buffer: whole rows only, then the rest after advancing the pointers */
    char small[90];
    rows = bytes = 99;
    tu_assert_status(risk_text_rows(pieces, acc, 2, 3, small, sizeof small, &rows, &bytes, NULL), RISK_EBUFFER);
    assert_int_equal(rows, 2);
    assert_int_equal(bytes, strlen("{\"id\": 7, \"positions\": [{\"p\": 1.25}, {\"p\": 2.5}]}\n"
                                   "{\"id\": 8, \"positions\": []}\n"));
    assert_memory_equal(small, want, bytes);
    acc[0].values = ids + 2;
    acc[1].values = counts + 2;
    acc[1].item_offsets = item_offsets + 2;
    acc[1].n_items = 1;
    size_t rows2 = 0, bytes2 = 0;
    tu_assert_status(risk_text_rows(pieces, acc, 2, 1, small, sizeof small, &rows2, &bytes2, NULL), RISK_OK);
    assert_int_equal(rows2, 1);
    assert_memory_equal(small, want + bytes, bytes2);
    assert_int_equal(bytes + bytes2, strlen(want));

    /* no room for one row */
    tu_assert_status(risk_text_rows(pieces, acc, 2, 1, small, 5, &rows2, &bytes2, NULL), RISK_EBUFFER);
    assert_int_equal(rows2, 0);
    assert_int_equal(bytes2, 0);
}

static void test_text_refusals_write_nothing(void **state)
{
    (void)state;
    const double x[] = {1.0, 2.0};
    const uint32_t bad_label[] = {0, 3};
    const uint32_t bad_key[] = {0, 2};
    const int32_t decimals_of[] = {2, 99};
    const char *labels[] = {"a", "b", "c"};
    const char *pieces[] = {"<", ">"};
    char out[64];
    memset(out, 'z', sizeof out);
    size_t rows = 77, bytes = 77;
    risk_text_column c = RISK_TEXT_COLUMN_INIT;

    c.kind = RISK_TEXT_LABEL;
    c.values = bad_label;
    c.labels = labels;
    c.n_keys = 3;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    c.n_keys = 4;
    c.values = bad_label;
    const char *labels_null[] = {"a", "b", "c", NULL};
    c.labels = labels_null;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_ENULL);

    c = (risk_text_column)RISK_TEXT_COLUMN_INIT;
    c.kind = RISK_TEXT_GRID;
    c.values = x;
    c.decimals = 23;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    c.decimals = -1;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    c.decimals = 2;
    c.keys = bad_key;
    c.decimals_of = decimals_of;
    c.n_keys = 2;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    c.keys = NULL;

    c.version = 2;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EVERSION);
    c.version = RISK_TEXT_COLUMN_VERSION;
    c.kind = 99;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    c.kind = RISK_TEXT_SHORTEST;
    c.values = NULL;
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_ENULL);
    c.values = x;

    /* a list whose counts need more items than there are, or whose offsets go backwards */
    const uint32_t counts[] = {1, 2};
    const uint64_t offsets[] = {0, 2, 1};
    const char *list[] = {"[", ",", "]", "[]"};
    risk_text_column l = RISK_TEXT_COLUMN_INIT;
    l.kind = RISK_TEXT_LIST;
    l.values = counts;
    l.labels = list;
    l.n_keys = 4;
    l.items = "abc";
    l.item_offsets = offsets;
    l.n_items = 2;
    tu_assert_status(risk_text_rows(pieces, &l, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    tu_assert_status(risk_text_rows(pieces, &l, 1, 1, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);
    l.n_keys = 3;
    tu_assert_status(risk_text_rows(pieces, &l, 1, 1, out, sizeof out, &rows, &bytes, NULL), RISK_EINVAL);

    const char *short_pieces[] = {"<", NULL};
    tu_assert_status(risk_text_rows(short_pieces, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_ENULL);
    tu_assert_status(risk_text_rows(NULL, &c, 1, 2, out, sizeof out, &rows, &bytes, NULL), RISK_ENULL);
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, NULL, &bytes, NULL), RISK_ENULL);
    tu_assert_status(risk_text_rows(pieces, &c, 1, 2, out, sizeof out, &rows, NULL, NULL), RISK_ENULL);
    tu_assert_status(risk_text_rows(pieces, &c, RISK_TEXT_COLUMNS_MAX + 1, 2, out, sizeof out, &rows, &bytes, NULL),
                     RISK_EINVAL);
    /* nothing written by any refusal */
    assert_int_equal(rows, 77);
    assert_int_equal(bytes, 77);
    for (size_t k = 0; k < sizeof out; k++)
        assert_int_equal(out[k], 'z');

    /* zero rows and no columns: the pieces only per row */
    const char *plain[] = {"x"};
    tu_assert_status(risk_text_rows(plain, NULL, 0, 3, out, sizeof out, &rows, &bytes, NULL), RISK_OK);
    assert_int_equal(bytes, 3);
    assert_memory_equal(out, "xxx", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_grid_numbers_as_python_repr_of_round),
        cmocka_unit_test(test_text_shortest_numbers_as_python_repr),
        cmocka_unit_test(test_text_per_row_decimals_labels_and_uints),
        cmocka_unit_test(test_text_nested_lists_from_earlier_rows),
        cmocka_unit_test(test_text_refusals_write_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
