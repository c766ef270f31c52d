// SPDX-License-Identifier: Apache-2.0
// test_hpp.cpp: the C++17 wrapper (include/risk.hpp): RAII handles, exceptions carrying the
// status and the handle's message, spans over caller memory, and the same numbers as the C API
// (the README's account: health factor 110, liquidation price 28,112.5). Exits non-zero on the
// first failed check; `make check` builds it with -Wall -Wextra -Werror and runs it.
#include <risk.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char *what, int line)
{
    if (!ok) {
        std::fprintf(stderr, "test_hpp.cpp:%d: %s\n", line, what);
        failures++;
    }
}
#define EXPECT(x) expect((x), #x, __LINE__)

template <class F>
int status_of(F &&f)
{
    try {
        f();
    } catch (const risk::error &e) {
        return e.code();
    }
    return RISK_OK;
}

void test_readme_account()
{
    risk::engine eng;
    uint32_t usdt = eng.add_asset("USDT", 1.0, 6);
    uint32_t btc = eng.add_asset("BTC", 50000.0, 8);
    risk_margin_tier tiers[] = {{50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0}};
    uint32_t perp = eng.add_linear("BTCUSDT", btc, usdt, 0.001, 0.1, 50000.0, tiers);
    EXPECT(eng.instrument("BTCUSDT") == perp && eng.asset("BTC") == btc);
    risk::account acc(eng, 1);
    acc.basket().set_balance(usdt, 10000.0);
    acc.set_leverage(perp, 20.0);
    acc.open(perp, 0.5, 48000.0);
    risk_account_summary s = acc.evaluate();
    EXPECT(std::fabs(s.health_factor - 110.0) < 1e-9);
    EXPECT(std::fabs(s.equity - 11000.0) < 1e-9);
    std::vector<risk_position_result> r = acc.position_results();
    EXPECT(r.size() == 1 && r[0].liquidation_price == 28112.5);
    EXPECT(acc.liquidation_plan().header.outcome == RISK_PLAN_NONE);

    // batch evaluation into caller memory, after a move of the market
    eng.set_mark(perp, 30000.0);
    eng.set_asset_price(btc, 30000.0);
    std::vector<risk_account_summary> out(eng.account_count());
    std::vector<uint64_t> ids(out.size());
    EXPECT(eng.evaluate_all(out, ids, 2) == 1);
    EXPECT(ids[0] == 1 && std::fabs(out[0].equity - 1000.0) < 1e-9);

    // failures throw with the status and the handle's message, and change nothing
    int code = status_of([&] { eng.set_mark(perp, std::nan("")); });
    EXPECT(code == RISK_EINVAL);
    try {
        acc.open(perp, 0.0005, 30000.0);
        EXPECT(!"an off-lot quantity was accepted");
    } catch (const risk::error &e) {
        EXPECT(e.code() == RISK_ELOT && std::strcmp(e.name(), "RISK_ELOT") == 0);
        EXPECT(std::string(e.what()).find("not a whole number of lots") != std::string::npos);
    }
    EXPECT(acc.position_results().size() == 1);
}

void test_liquidation_and_moves()
{
    risk::engine eng;
    uint32_t usdt = eng.add_asset("USDT", 1.0, 6);
    uint32_t btc = eng.add_asset("BTC", 100.0, 8);
    risk_margin_tier tiers[] = {{1e15, 0.05, 10.0, 0.0, 0}};
    uint32_t perp = eng.add_linear("BTCUSDT", btc, usdt, 1.0, 0.1, 100.0, tiers);
    risk::account acc(eng, 7);
    acc.basket().set_balance(usdt, 500.0);
    acc.open(perp, 200.0, 100.0); // MM 1,000 against 500: liquidatable
    risk::plan p = acc.liquidation_plan();
    EXPECT(p.header.outcome == RISK_PLAN_PARTIAL && !p.actions.empty());
    acc.apply(p);
    EXPECT(acc.evaluate().health_factor == p.header.health_after);
    EXPECT(acc.max_order_qty(perp, RISK_ORDER_BUY) >= 0.0);

    risk::account moved = std::move(acc); // ownership moves, the old handle is empty
    EXPECT(moved.get() != nullptr && acc.get() == nullptr);
    EXPECT(moved.id() == 7);
    risk::engine other = std::move(eng);  // accounts keep working through a moved engine
    EXPECT(moved.evaluate().n_positions == 1);
    EXPECT(status_of([&] { risk::account dup(other, 7); }) == RISK_EDUPLICATE);
}

} // namespace

int main()
{
    test_readme_account();
    test_liquidation_and_moves();
    if (failures) {
        std::fprintf(stderr, "test_hpp: %d failed\n", failures);
        return 1;
    }
    std::printf("test_hpp: all passed\n");
    return 0;
}
