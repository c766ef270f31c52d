// SPDX-License-Identifier: Apache-2.0
// embed.cpp: librisk embedded in a C++17 program through include/risk.hpp.
//
// Handles are RAII objects (risk::engine, risk::account), failures are risk::error exceptions
// carrying the status and the handle's message, batch calls fill caller memory through
// risk::span. Build:
//   g++ -std=c++17 embed.cpp $(pkg-config --cflags --libs librisk)
#include <risk.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

const char *state_name(uint32_t state)
{
    switch (state) {
    case RISK_STATE_HEALTHY: return "healthy";
    case RISK_STATE_MARGIN_CALL: return "margin call";
    case RISK_STATE_LIQUIDATABLE: return "liquidatable";
    case RISK_STATE_BANKRUPT: return "bankrupt";
    default: return "unknown";
    }
}

int run()
{
    if (risk_version_number() / 10000 != RISK_VERSION_MAJOR)
        throw std::runtime_error(std::string("librisk ") + risk_version_string() + " does not match the headers");

    risk::engine engine;
    const uint32_t usdt = engine.add_asset("USDT", 1.0, 6); // first asset: the valuation asset
    const uint32_t btc = engine.add_asset("BTC", 50000.0, 8);

    // BTCUSDT linear perpetual, two notional tiers.
    const risk_margin_tier tiers[] = {
        {50000.0, 0.004, 125.0, 0.0, 0},
        {250000.0, 0.005, 100.0, 0.0, 0},
    };
    const uint32_t btcusdt = engine.add_linear("BTCUSDT", btc, usdt, 0.001, 0.1, 50000.0, tiers);

    // An account with 10,000 USDT and a 0.5 BTC long from 48,000.
    risk::account account(engine, 42);
    account.basket().set_balance(usdt, 10000.0);
    account.open(btcusdt, 0.5, 48000.0);

    const risk_account_summary s = account.evaluate();
    std::printf("librisk %s embedded in C++\n", risk_version_string());
    std::printf("account %llu: %s, equity %.2f USDT, MM %.2f USDT\n",
                static_cast<unsigned long long>(account.id()), state_name(s.state), s.equity, s.maintenance_margin);
    std::printf("health factor: %.4f\n", s.health_factor);
    for (const risk_position_result &r : account.position_results())
        if ((r.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0)
            std::printf("BTCUSDT liquidation price: %.1f\n", r.liquidation_price);

    // The whole book in one call, into caller memory.
    std::vector<risk_account_summary> book(engine.account_count());
    engine.evaluate_all(book);
    std::printf("book: %zu account(s), first equity %.2f\n", book.size(), book[0].equity);

    // Bad input is a status, not a crash, and changes nothing.
    try {
        engine.set_mark(btcusdt, std::nan(""));
        std::fprintf(stderr, "a NaN mark was accepted\n");
        return 1;
    } catch (const risk::error &e) {
        std::printf("rejected as expected: %s\n", e.what());
    }

    // C_maint = 10,000 + 0.5 x (50,000 - 48,000) = 11,000; R_maint = 25,000 x 0.4% = 100.
    if (!(std::fabs(s.health_factor - 110.0) < 1e-9)) {
        std::fprintf(stderr, "health factor %.17g, expected 110\n", s.health_factor);
        return 1;
    }
    return 0; // account, then engine, are freed here (either order would be safe)
}

} // namespace

int main()
{
    try {
        return run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "embed: %s\n", e.what());
        return 1;
    }
}
