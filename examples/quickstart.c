/* SPDX-License-Identifier: Apache-2.0 */
/* quickstart.c: value one account with a BTCUSDT perpetual (the README's C example).
 * Build: cc -std=c99 quickstart.c $(pkg-config --cflags --libs librisk) */
#include <risk.h>
#include <stdio.h>

/* On failure: print the status name and the handles' messages, then clean up. */
#define CHECK(call) do { int rc_ = (call); if (rc_ != RISK_OK) { \
    fprintf(stderr, "%s: %s %s%s\n", #call, risk_errname(rc_), \
            risk_engine_errmsg(engine), risk_account_errmsg(account)); \
    goto done; } } while (0)

int main(void)
{
    risk_engine *engine = NULL;
    risk_account *account = NULL;
    uint32_t usdt, btc, btcusdt;
    int status = 1;

    CHECK(risk_engine_new(&engine, NULL));

    risk_asset_spec asset = RISK_ASSET_SPEC_INIT;   /* the first asset is the valuation asset */
    asset.symbol = "USDT"; asset.decimals = 6; asset.price = 1.0;
    CHECK(risk_engine_add_asset(engine, &asset, &usdt));
    asset.symbol = "BTC"; asset.decimals = 8; asset.price = 50000.0;
    CHECK(risk_engine_add_asset(engine, &asset, &btc));

    /* Two notional tiers: up to 50,000 USDT at 0.4% MM (125x), beyond at 0.5% (100x). */
    const risk_margin_tier tiers[] = {
        {50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0},
    };
    risk_instrument_spec perp = RISK_INSTRUMENT_SPEC_INIT;
    perp.symbol = "BTCUSDT"; perp.underlying = btc; perp.settle = usdt;
    perp.lot_size = 0.001; perp.tick_size = 0.1; perp.mark = 50000.0;
    perp.tiers = tiers; perp.n_tiers = 2;
    CHECK(risk_engine_add_instrument(engine, &perp, &btcusdt));

    /* A cross-margin account: 10,000 USDT and 0.5 BTC long from 48,000 at 20x. */
    CHECK(risk_account_new(&account, engine, 1, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY));
    CHECK(risk_basket_set_balance(risk_account_basket(account), usdt, 10000.0));
    CHECK(risk_account_set_leverage(account, btcusdt, 20.0));
    risk_position_spec pos = RISK_POSITION_SPEC_INIT;
    pos.instrument = btcusdt; pos.qty = 0.5; pos.entry = 48000.0;
    CHECK(risk_account_open_position(account, &pos, NULL));

    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    CHECK(risk_account_evaluate(account, &s));
    printf("equity %.2f USDT, maintenance margin %.2f, health factor %.2f\n",
           s.equity, s.maintenance_margin, s.health_factor);

    risk_position_result r = RISK_POSITION_RESULT_INIT;
    size_t n = 0;
    CHECK(risk_account_position_results(account, &r, 1, &n));
    if (r.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE)
        printf("BTCUSDT liquidation price %.1f\n", r.liquidation_price);
    status = 0;

done:
    risk_account_free(account);
    risk_engine_free(engine);
    return status;
}
