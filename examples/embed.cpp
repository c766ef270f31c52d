// embed.cpp: librisk embedded in a C++11 program.
//
// Handles are owned by std::unique_ptr with custom deleters, failures become exceptions that
// carry the status name and the handle's message. Build:
//   g++ -std=c++11 embed.cpp $(pkg-config --cflags --libs librisk)
#include <risk.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct EngineDeleter {
    void operator()(risk_engine *e) const noexcept { risk_engine_free(e); }
};
struct AccountDeleter {
    void operator()(risk_account *a) const noexcept { risk_account_free(a); }
};
using EnginePtr = std::unique_ptr<risk_engine, EngineDeleter>;
using AccountPtr = std::unique_ptr<risk_account, AccountDeleter>;

class RiskError : public std::runtime_error {
public:
    RiskError(const std::string &what, int code) : std::runtime_error(what), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Throws when rc is not RISK_OK; the message names the call, the status and the handle's text.
void check(int rc, const char *call, const char *handle_message)
{
    if (rc != RISK_OK) {
        std::string what = std::string(call) + ": " + risk_errname(rc) + " (" + risk_strerror(rc) + ")";
        if (handle_message != nullptr && handle_message[0] != '\0')
            what += ": " + std::string(handle_message);
        throw RiskError(what, rc);
    }
}

EnginePtr make_engine()
{
    risk_engine *raw = nullptr;
    check(risk_engine_new(&raw, nullptr), "risk_engine_new", nullptr);
    return EnginePtr(raw);
}

uint32_t add_asset(risk_engine *engine, const char *symbol, uint32_t decimals, double price)
{
    risk_asset_spec spec = RISK_ASSET_SPEC_INIT;
    spec.symbol = symbol;
    spec.decimals = decimals;
    spec.price = price;
    uint32_t id = RISK_ID_NONE;
    check(risk_engine_add_asset(engine, &spec, &id), "risk_engine_add_asset", risk_engine_errmsg(engine));
    return id;
}

AccountPtr make_account(risk_engine *engine, uint64_t id)
{
    risk_account *raw = nullptr;
    check(risk_account_new(&raw, engine, id, RISK_MARGIN_CROSS, RISK_POSITION_ONE_WAY), "risk_account_new",
          risk_engine_errmsg(engine));
    return AccountPtr(raw);
}

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

    EnginePtr engine = make_engine();
    const uint32_t usdt = add_asset(engine.get(), "USDT", 6, 1.0); // first asset: the valuation asset
    const uint32_t btc = add_asset(engine.get(), "BTC", 8, 50000.0);

    // BTCUSDT linear perpetual, two notional tiers.
    const risk_margin_tier tiers[2] = {
        {50000.0, 0.004, 125.0, 0.0, 0},
        {250000.0, 0.005, 100.0, 0.0, 0},
    };
    risk_instrument_spec perp = RISK_INSTRUMENT_SPEC_INIT;
    perp.symbol = "BTCUSDT";
    perp.underlying = btc;
    perp.settle = usdt;
    perp.lot_size = 0.001;
    perp.tick_size = 0.1;
    perp.mark = 50000.0;
    perp.tiers = tiers;
    perp.n_tiers = 2;
    uint32_t btcusdt = RISK_ID_NONE;
    check(risk_engine_add_instrument(engine.get(), &perp, &btcusdt), "risk_engine_add_instrument",
          risk_engine_errmsg(engine.get()));

    // An account with 10,000 USDT and a 0.5 BTC long from 48,000.
    AccountPtr account = make_account(engine.get(), 42);
    risk_basket *wallet = risk_account_basket(account.get());
    check(risk_basket_set_balance(wallet, usdt, 10000.0), "risk_basket_set_balance", risk_basket_errmsg(wallet));
    risk_position_spec pos = RISK_POSITION_SPEC_INIT;
    pos.instrument = btcusdt;
    pos.qty = 0.5;
    pos.entry = 48000.0;
    check(risk_account_open_position(account.get(), &pos, nullptr), "risk_account_open_position",
          risk_account_errmsg(account.get()));

    risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
    check(risk_account_evaluate(account.get(), &s), "risk_account_evaluate", risk_account_errmsg(account.get()));
    std::printf("librisk %s embedded in C++\n", risk_version_string());
    std::printf("account %llu: %s, equity %.2f USDT, MM %.2f USDT\n",
                static_cast<unsigned long long>(risk_account_id(account.get())), state_name(s.state), s.equity,
                s.maintenance_margin);
    std::printf("health factor: %.4f\n", s.health_factor);

    risk_position_result r = RISK_POSITION_RESULT_INIT;
    size_t n = 0;
    check(risk_account_position_results(account.get(), &r, 1, &n), "risk_account_position_results",
          risk_account_errmsg(account.get()));
    if ((r.flags & RISK_RESULT_HAS_LIQUIDATION_PRICE) != 0)
        std::printf("BTCUSDT liquidation price: %.1f\n", r.liquidation_price);

    // Bad input is a status, not a crash, and changes nothing.
    try {
        check(risk_engine_set_mark(engine.get(), btcusdt, std::nan("")), "risk_engine_set_mark",
              risk_engine_errmsg(engine.get()));
        std::fprintf(stderr, "a NaN mark was accepted\n");
        return 1;
    } catch (const RiskError &e) {
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
