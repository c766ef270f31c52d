/* SPDX-License-Identifier: Apache-2.0 */
/* test_status.c: status codes, their names and texts, version queries, error messages. */
#include "test_util.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int code;
    const char *name;
} code_name;

static const code_name all_codes[] = {
    {RISK_OK, "RISK_OK"},
    {RISK_ENULL, "RISK_ENULL"},
    {RISK_EINVAL, "RISK_EINVAL"},
    {RISK_ENOTFOUND, "RISK_ENOTFOUND"},
    {RISK_EDUPLICATE, "RISK_EDUPLICATE"},
    {RISK_ELOT, "RISK_ELOT"},
    {RISK_ETICK, "RISK_ETICK"},
    {RISK_ELEVERAGE, "RISK_ELEVERAGE"},
    {RISK_ETIERS, "RISK_ETIERS"},
    {RISK_ESTATE, "RISK_ESTATE"},
    {RISK_EVERSION, "RISK_EVERSION"},
    {RISK_EBUFFER, "RISK_EBUFFER"},
    {RISK_EENGINE, "RISK_EENGINE"},
    {RISK_ELIMIT, "RISK_ELIMIT"},
    {RISK_ECORRUPT, "RISK_ECORRUPT"},
    {RISK_ENOPRICE, "RISK_ENOPRICE"},
    {RISK_ENOMEM, "RISK_ENOMEM"},
    {RISK_ETHREAD, "RISK_ETHREAD"},
    {RISK_EIO, "RISK_EIO"},
    {RISK_EINTERNAL, "RISK_EINTERNAL"},
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

/* The numbers are part of the ABI: never renumbered. */
static void test_status_codes_are_stable_numbers(void **state)
{
    (void)state;
    assert_int_equal(RISK_OK, 0);
    assert_int_equal(RISK_ENULL, 1);
    assert_int_equal(RISK_EINVAL, 2);
    assert_int_equal(RISK_ENOTFOUND, 3);
    assert_int_equal(RISK_EDUPLICATE, 4);
    assert_int_equal(RISK_ELOT, 5);
    assert_int_equal(RISK_ETICK, 6);
    assert_int_equal(RISK_ELEVERAGE, 7);
    assert_int_equal(RISK_ETIERS, 8);
    assert_int_equal(RISK_ESTATE, 9);
    assert_int_equal(RISK_EVERSION, 10);
    assert_int_equal(RISK_EBUFFER, 11);
    assert_int_equal(RISK_EENGINE, 12);
    assert_int_equal(RISK_ELIMIT, 13);
    assert_int_equal(RISK_ECORRUPT, 14);
    assert_int_equal(RISK_ENOPRICE, 100);
    assert_int_equal(RISK_ENOMEM, 200);
    assert_int_equal(RISK_ETHREAD, 201);
    assert_int_equal(RISK_EIO, 202);
    assert_int_equal(RISK_EINTERNAL, 900);
}

static void test_status_every_code_has_its_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *name = risk_errname(all_codes[i].code);
        assert_non_null(name);
        assert_string_equal(name, all_codes[i].name);
    }
}

static void test_status_every_code_has_a_distinct_text(void **state)
{
    (void)state;
    const char *unknown = risk_strerror(-12345);
    assert_non_null(unknown);
    for (size_t i = 0; i < N_CODES; i++) {
        const char *t = risk_strerror(all_codes[i].code);
        assert_non_null(t);
        assert_true(strlen(t) > 0);
        assert_string_not_equal(t, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t, risk_strerror(all_codes[j].code));
    }
}

static void test_status_unknown_codes_get_fallbacks(void **state)
{
    (void)state;
    const int unknown[] = {-1, -200, 15, 50, 99, 101, 150, 199, 203, 299, 300, 899, 901, 999, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *t = risk_strerror(unknown[i]);
        const char *n = risk_errname(unknown[i]);
        assert_non_null(t);
        assert_non_null(n);
        assert_string_equal(t, "unknown status");
        assert_string_equal(n, "RISK_UNKNOWN");
    }
}

static void test_status_texts_are_static(void **state)
{
    (void)state;
    /* Same pointer on every call: a static string, no per-call buffer. */
    for (size_t i = 0; i < N_CODES; i++) {
        assert_ptr_equal(risk_strerror(all_codes[i].code), risk_strerror(all_codes[i].code));
        assert_ptr_equal(risk_errname(all_codes[i].code), risk_errname(all_codes[i].code));
    }
}

static void test_status_version_matches_header(void **state)
{
    (void)state;
    assert_non_null(risk_version_string());
    assert_string_equal(risk_version_string(), RISK_VERSION_STRING);
    assert_int_equal(risk_version_number(), RISK_VERSION_NUMBER);
    assert_int_equal(risk_version_number() / 10000, RISK_VERSION_MAJOR);
    assert_true(RISK_VERSION_CHECK(0, 1, 0));
    assert_false(RISK_VERSION_CHECK(RISK_VERSION_MAJOR + 1, 0, 0));
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", RISK_VERSION_MAJOR, RISK_VERSION_MINOR, RISK_VERSION_PATCH);
    assert_string_equal(buf, RISK_VERSION_STRING);
}

static void test_status_errmsg_of_null_handles_is_empty(void **state)
{
    (void)state;
    assert_non_null(risk_engine_errmsg(NULL));
    assert_string_equal(risk_engine_errmsg(NULL), "");
    assert_non_null(risk_account_errmsg(NULL));
    assert_string_equal(risk_account_errmsg(NULL), "");
    assert_non_null(risk_basket_errmsg(NULL));
    assert_string_equal(risk_basket_errmsg(NULL), "");
}

static void test_status_errmsg_empty_until_an_error(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    assert_string_equal(risk_engine_errmsg(e), "");
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    assert_string_equal(risk_account_errmsg(acc), "");
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    assert_string_equal(risk_basket_errmsg(b), "");

    /* Each handle records its own failure. */
    tu_assert_status(risk_engine_set_asset_price(e, 77, 1.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_engine_errmsg(e));
    tu_assert_status(risk_account_set_leverage(acc, 77, 10.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_account_errmsg(acc));
    tu_assert_status(risk_basket_set_balance(b, 77, 1.0), RISK_ENOTFOUND);
    tu_assert_errmsg(risk_basket_errmsg(b));
    tu_assert_status(risk_basket_set_balance(b, usdt, 1.0), RISK_OK);

    risk_basket_free(b);
    risk_account_free(acc);
    risk_engine_free(e);
}

/* A failing call whose message cannot be stored (no memory) still reports its own status. */
static void test_status_errors_without_memory_for_the_message(void **state)
{
    (void)state;
    tu_alloc a;
    tu_alloc_init(&a);
    risk_engine *e = tu_engine(&a, 0);
    uint32_t usdt = tu_asset(e, "USDT", 1.0, 6);
    risk_account *acc = tu_account(e, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY);
    risk_basket *b = NULL;
    tu_assert_status(risk_basket_new(&b, e), RISK_OK);
    tu_alloc_arm_all(&a);
    tu_assert_status(risk_engine_set_asset_price(e, 5, 1.0), RISK_ENOTFOUND);
    assert_non_null(risk_engine_errmsg(e));
    tu_assert_status(risk_engine_set_asset_price(e, usdt, NAN), RISK_EINVAL);
    assert_non_null(risk_engine_errmsg(e));
    tu_assert_status(risk_account_set_leverage(acc, 9, 2.0), RISK_ENOTFOUND);
    assert_non_null(risk_account_errmsg(acc));
    tu_assert_status(risk_basket_set_balance(b, usdt, INFINITY), RISK_EINVAL);
    assert_non_null(risk_basket_errmsg(b));
    tu_alloc_disarm(&a);
    risk_basket_free(b);
    risk_account_free(acc);
    risk_engine_free(e);
    assert_int_equal(a.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_codes_are_stable_numbers),
        cmocka_unit_test(test_status_every_code_has_its_name),
        cmocka_unit_test(test_status_every_code_has_a_distinct_text),
        cmocka_unit_test(test_status_unknown_codes_get_fallbacks),
        cmocka_unit_test(test_status_texts_are_static),
        cmocka_unit_test(test_status_version_matches_header),
        cmocka_unit_test(test_status_errmsg_of_null_handles_is_empty),
        cmocka_unit_test(test_status_errmsg_empty_until_an_error),
        cmocka_unit_test(test_status_errors_without_memory_for_the_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
