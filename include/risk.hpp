/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk.hpp
 * @brief Header-only C++17 wrapper over the C API: RAII handles, exceptions, spans for batch calls.
 *
 * Everything here is inline over `risk.h`; the ABI stays the C one. Handles own what they wrap
 * (move-only, freed in the destructor); a call that fails throws risk::error carrying the status
 * (code() and name()) and the handle's message. Non-owning views (risk::basket_ref) are valid while
 * their owner lives. Batch calls take risk::span, a pointer and a length, built from a pointer and
 * a size, a std::vector or a C array, so caller memory is filled in place without copies.
 *
 * @code
 * risk::engine eng;
 * uint32_t usdt = eng.add_asset("USDT", 1.0, 6);
 * uint32_t btc = eng.add_asset("BTC", 50000.0, 8);
 * risk_margin_tier tiers[] = {{50000.0, 0.004, 125.0, 0.0, 0}, {250000.0, 0.005, 100.0, 0.0, 0}};
 * uint32_t perp = eng.add_linear("BTCUSDT", btc, usdt, 0.001, 0.1, 50000.0, tiers);
 * risk::account acc(eng, 42);
 * acc.basket().set_balance(usdt, 10000.0);
 * acc.open(perp, 0.5, 48000.0);
 * risk_account_summary s = acc.evaluate();
 * @endcode
 */
#ifndef RISK_HPP
#define RISK_HPP

#include <risk.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace risk {

/** A failed call: the status code, its name, and the handle's message. */
class error : public std::runtime_error {
public:
    /**
     * @brief The error of a call.
     * @param[in] code The status the call returned.
     * @param[in] call The C function's name.
     * @param[in] message The handle's message (may be NULL).
     */
    error(int code, const char *call, const char *message)
        : std::runtime_error(describe(code, call, message)), code_(code)
    {
    }
    /** @brief The status code. @return RISK_EINVAL, RISK_ELOT, ... */
    int code() const noexcept { return code_; }
    /** @brief The status name. @return A static string such as "RISK_EINVAL". */
    const char *name() const noexcept { return risk_errname(code_); }

private:
    static std::string describe(int code, const char *call, const char *message)
    {
        std::string what = std::string(call) + ": " + risk_errname(code);
        if (message != nullptr && message[0] != '\0')
            what += ": " + std::string(message);
        return what;
    }
    int code_;
};

namespace detail {
/**
 * @brief Throws risk::error when a call failed.
 * @param[in] rc The status the call returned.
 * @param[in] call The C function's name.
 * @param[in] message The handle's message (may be NULL).
 */
inline void check(int rc, const char *call, const char *message)
{
    if (rc != RISK_OK)
        throw error(rc, call, message);
}
} // namespace detail

/** A view of caller memory: a pointer and a length (C++17 has no std::span). */
template <class T>
class span {
public:
    /** @brief An empty span. */
    constexpr span() noexcept = default;
    /**
     * @brief A view of caller memory.
     * @param[in] data First element.
     * @param[in] n Number of elements.
     */
    constexpr span(T *data, std::size_t n) noexcept : data_(data), size_(n) {}
    /**
     * @brief The elements of a vector (which must outlive the span).
     * @param[in] v The vector.
     */
    template <class U>
    span(std::vector<U> &v) noexcept : data_(v.data()), size_(v.size()) {}
    /**
     * @brief The elements of a C array.
     * @param[in] a The array.
     */
    template <std::size_t N>
    constexpr span(T (&a)[N]) noexcept : data_(a), size_(N) {}
    /** @brief First element. @return The pointer. */
    constexpr T *data() const noexcept { return data_; }
    /** @brief Number of elements. @return The count. */
    constexpr std::size_t size() const noexcept { return size_; }
    /**
     * @brief One element (unchecked).
     * @param[in] i Its index, < size().
     * @return The element.
     */
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
    /** @brief Iteration. @return The first element. */
    constexpr T *begin() const noexcept { return data_; }
    /** @brief Iteration. @return One past the last element. */
    constexpr T *end() const noexcept { return data_ + size_; }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};

/** Owns a risk_engine. Accounts made on it may outlive it (the C library keeps it alive). */
class engine {
public:
    /**
     * @brief A new engine.
     * @param[in] options Options, or NULL for the defaults.
     */
    explicit engine(const risk_engine_options *options = nullptr)
    {
        detail::check(risk_engine_new(&e_, options), "risk_engine_new", nullptr);
    }
    engine(const engine &) = delete;
    engine &operator=(const engine &) = delete;
    /**
     * @brief Takes over another engine object's handle.
     * @param[in,out] o The engine object left empty.
     */
    engine(engine &&o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
    /**
     * @brief Takes over another engine object's handle, freeing this one's.
     * @param[in,out] o The engine object left empty.
     * @return This object.
     */
    engine &operator=(engine &&o) noexcept
    {
        if (this != &o) {
            risk_engine_free(e_);
            e_ = std::exchange(o.e_, nullptr);
        }
        return *this;
    }
    ~engine() { risk_engine_free(e_); }

    /** @brief The C handle. @return The engine, still owned by this object. */
    risk_engine *get() const noexcept { return e_; }

    /**
     * @brief Registers an asset (risk_engine_add_asset()).
     * @param[in] spec The asset.
     * @return Its id.
     */
    uint32_t add_asset(const risk_asset_spec &spec)
    {
        uint32_t id = RISK_ID_NONE;
        check(risk_engine_add_asset(e_, &spec, &id), "risk_engine_add_asset");
        return id;
    }
    /**
     * @brief Registers an asset with weights 1.
     * @param[in] symbol Symbol.
     * @param[in] price Price in the valuation asset.
     * @param[in] decimals Decimals of its amounts.
     * @return Its id.
     */
    uint32_t add_asset(const char *symbol, double price, uint32_t decimals)
    {
        risk_asset_spec spec = RISK_ASSET_SPEC_INIT;
        spec.symbol = symbol;
        spec.price = price;
        spec.decimals = decimals;
        return add_asset(spec);
    }
    /**
     * @brief Registers an instrument (risk_engine_add_instrument()).
     * @param[in] spec The instrument.
     * @return Its id.
     */
    uint32_t add_instrument(const risk_instrument_spec &spec)
    {
        uint32_t id = RISK_ID_NONE;
        check(risk_engine_add_instrument(e_, &spec, &id), "risk_engine_add_instrument");
        return id;
    }
    /**
     * @brief Registers a linear perpetual of contract size 1.
     * @param[in] symbol Symbol.
     * @param[in] underlying Underlying asset id.
     * @param[in] settle Settle asset id.
     * @param[in] lot_size Quantity step in contracts.
     * @param[in] tick_size Price step in quote.
     * @param[in] mark Initial mark.
     * @param[in] tiers Margin schedule.
     * @return Its id.
     */
    uint32_t add_linear(const char *symbol, uint32_t underlying, uint32_t settle, double lot_size, double tick_size,
                        double mark, span<const risk_margin_tier> tiers)
    {
        risk_instrument_spec spec = RISK_INSTRUMENT_SPEC_INIT;
        spec.symbol = symbol;
        spec.underlying = underlying;
        spec.settle = settle;
        spec.lot_size = lot_size;
        spec.tick_size = tick_size;
        spec.mark = mark;
        spec.tiers = tiers.data();
        spec.n_tiers = tiers.size();
        return add_instrument(spec);
    }
    /**
     * @brief Sets an asset's price.
     * @param[in] asset Asset id.
     * @param[in] price Price in the valuation asset.
     */
    void set_asset_price(uint32_t asset, double price)
    {
        check(risk_engine_set_asset_price(e_, asset, price), "risk_engine_set_asset_price");
    }
    /**
     * @brief Sets an instrument's mark.
     * @param[in] instrument Instrument id.
     * @param[in] mark Mark in quote.
     */
    void set_mark(uint32_t instrument, double mark) { check(risk_engine_set_mark(e_, instrument, mark), "risk_engine_set_mark"); }
    /**
     * @brief Sets many marks, all or nothing.
     * @param[in] instruments Instrument ids.
     * @param[in] marks Their marks, as many.
     */
    void set_marks(span<const uint32_t> instruments, span<const double> marks)
    {
        if (instruments.size() != marks.size())
            throw error(RISK_EINVAL, "risk_engine_set_marks", "instruments and marks differ in length");
        check(risk_engine_set_marks(e_, instruments.data(), marks.data(), marks.size()), "risk_engine_set_marks");
    }
    /**
     * @brief An asset by symbol.
     * @param[in] symbol Symbol.
     * @return Its id.
     */
    uint32_t asset(const char *symbol) const
    {
        uint32_t id = RISK_ID_NONE;
        check(risk_engine_find_asset(e_, symbol, &id), "risk_engine_find_asset");
        return id;
    }
    /**
     * @brief An instrument by symbol.
     * @param[in] symbol Symbol.
     * @return Its id.
     */
    uint32_t instrument(const char *symbol) const
    {
        uint32_t id = RISK_ID_NONE;
        check(risk_engine_find_instrument(e_, symbol, &id), "risk_engine_find_instrument");
        return id;
    }
    /** @brief Number of accounts. @return The count. */
    std::size_t account_count() const
    {
        std::size_t n = 0;
        check(risk_engine_account_count(e_, &n), "risk_engine_account_count");
        return n;
    }
    /**
     * @brief Evaluates every account, in creation order, into caller memory.
     * @param[out] out At least account_count() summaries.
     * @param[out] ids Empty, or as long as @p out: the accounts' external ids.
     * @param[in] threads Worker threads, 1..256; the result is the same for any count.
     * @return The number of accounts.
     */
    std::size_t evaluate_all(span<risk_account_summary> out, span<uint64_t> ids = {}, uint32_t threads = 1) const
    {
        if (ids.size() && ids.size() != out.size())
            throw error(RISK_EINVAL, "risk_engine_evaluate_all", "ids and summaries differ in length");
        risk_account_summary none = RISK_ACCOUNT_SUMMARY_INIT;
        for (risk_account_summary &s : out)
            s.version = none.version;
        std::size_t n = 0;
        check(risk_engine_evaluate_all(e_, out.size() ? out.data() : &none, ids.size() ? ids.data() : nullptr,
                                       out.size(), threads, &n),
              "risk_engine_evaluate_all");
        return n;
    }

private:
    void check(int rc, const char *call) const { detail::check(rc, call, risk_engine_errmsg(e_)); }
    risk_engine *e_ = nullptr;
};

/** A non-owning view of a basket (an account's, valid while the account lives). */
class basket_ref {
public:
    /**
     * @brief A view of a basket.
     * @param[in] b The basket, which must outlive the view.
     */
    explicit basket_ref(risk_basket *b) noexcept : b_(b) {}
    /**
     * @brief Sets a balance.
     * @param[in] asset Asset id.
     * @param[in] amount Amount in the asset (negative: borrowed).
     */
    void set_balance(uint32_t asset, double amount)
    {
        check(risk_basket_set_balance(b_, asset, amount), "risk_basket_set_balance");
    }
    /**
     * @brief Adds to a balance.
     * @param[in] asset Asset id.
     * @param[in] delta Amount added, in the asset.
     */
    void add_balance(uint32_t asset, double delta)
    {
        check(risk_basket_add_balance(b_, asset, delta), "risk_basket_add_balance");
    }
    /**
     * @brief A balance.
     * @param[in] asset Asset id.
     * @return The amount (0 when not held).
     */
    double balance(uint32_t asset) const
    {
        double x = 0.0;
        check(risk_basket_balance(b_, asset, &x), "risk_basket_balance");
        return x;
    }

private:
    void check(int rc, const char *call) const { detail::check(rc, call, risk_basket_errmsg(b_)); }
    risk_basket *b_;
};

/** A liquidation plan: its header and actions (see risk/liquidation.h). */
struct plan {
    risk_liquidation_plan header = RISK_LIQUIDATION_PLAN_INIT; /**< The plan's header. */
    std::vector<risk_liquidation_action> actions;              /**< Its actions, in order. */
};

/** Owns a risk_account. */
class account {
public:
    /**
     * @brief A new account.
     * @param[in] eng Its engine.
     * @param[in] id External id, unique in the engine.
     * @param[in] margin_mode ::RISK_MARGIN_CROSS or ::RISK_MARGIN_ISOLATED.
     * @param[in] position_mode ::RISK_POSITION_ONE_WAY or ::RISK_POSITION_HEDGE.
     */
    account(const engine &eng, uint64_t id, uint32_t margin_mode = RISK_MARGIN_CROSS,
            uint32_t position_mode = RISK_POSITION_ONE_WAY)
    {
        detail::check(risk_account_new(&a_, eng.get(), id, margin_mode, position_mode), "risk_account_new",
                      risk_engine_errmsg(eng.get()));
    }
    account(const account &) = delete;
    account &operator=(const account &) = delete;
    /**
     * @brief Takes over another account object's handle.
     * @param[in,out] o The account object left empty.
     */
    account(account &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    /**
     * @brief Takes over another account object's handle, freeing this one's.
     * @param[in,out] o The account object left empty.
     * @return This object.
     */
    account &operator=(account &&o) noexcept
    {
        if (this != &o) {
            risk_account_free(a_);
            a_ = std::exchange(o.a_, nullptr);
        }
        return *this;
    }
    ~account() { risk_account_free(a_); }

    /** @brief The C handle. @return The account, still owned by this object. */
    risk_account *get() const noexcept { return a_; }
    /** @brief The external id. @return The id. */
    uint64_t id() const noexcept { return risk_account_id(a_); }
    /** @brief The account's basket. @return A view valid while the account lives. */
    basket_ref basket() const noexcept { return basket_ref(risk_account_basket(a_)); }
    /**
     * @brief Sets the user leverage of an instrument.
     * @param[in] instrument Instrument id.
     * @param[in] leverage Leverage, >= 1.
     */
    void set_leverage(uint32_t instrument, double leverage)
    {
        check(risk_account_set_leverage(a_, instrument, leverage), "risk_account_set_leverage");
    }
    /**
     * @brief Opens a position (risk_account_open_position()).
     * @param[in] spec The position.
     */
    void open(const risk_position_spec &spec)
    {
        check(risk_account_open_position(a_, &spec, nullptr), "risk_account_open_position");
    }
    /**
     * @brief Opens a one-way position in the account's margin mode.
     * @param[in] instrument Instrument id.
     * @param[in] qty Signed contracts, long > 0, whole lots.
     * @param[in] entry Entry price in quote.
     */
    void open(uint32_t instrument, double qty, double entry)
    {
        risk_position_spec spec = RISK_POSITION_SPEC_INIT;
        spec.instrument = instrument;
        spec.qty = qty;
        spec.entry = entry;
        open(spec);
    }
    /** @brief The account's summary. @return The summary. */
    risk_account_summary evaluate() const
    {
        risk_account_summary s = RISK_ACCOUNT_SUMMARY_INIT;
        check(risk_account_evaluate(a_, &s), "risk_account_evaluate");
        return s;
    }
    /** @brief Every position's result. @return One result per position. */
    std::vector<risk_position_result> position_results() const
    {
        std::vector<risk_position_result> out(risk_account_position_count(a_));
        if (out.empty())
            return out;
        out[0].version = RISK_POSITION_RESULT_VERSION;
        std::size_t n = 0;
        check(risk_account_position_results(a_, out.data(), out.size(), &n), "risk_account_position_results");
        out.resize(n);
        return out;
    }
    /** @brief The liquidation plan. @return The plan (no actions, outcome ::RISK_PLAN_NONE, when not liquidatable). */
    risk::plan liquidation_plan() const
    {
        risk::plan p;
        std::size_t n = 0;
        int rc = risk_account_liquidation_plan(a_, &p.header, nullptr, 0, &n);
        if (rc == RISK_EBUFFER) {
            risk_liquidation_action init = {};
            init.version = RISK_LIQUIDATION_ACTION_VERSION;
            p.actions.assign(n, init);
            p.header = risk_liquidation_plan(RISK_LIQUIDATION_PLAN_INIT);
            rc = risk_account_liquidation_plan(a_, &p.header, p.actions.data(), p.actions.size(), &n);
        }
        check(rc, "risk_account_liquidation_plan");
        p.actions.resize(p.header.n_actions);
        return p;
    }
    /**
     * @brief Applies a plan made by liquidation_plan(), all or nothing.
     * @param[in] p The plan.
     */
    void apply(const risk::plan &p)
    {
        check(risk_account_apply_plan(a_, &p.header, p.actions.data(), p.actions.size()), "risk_account_apply_plan");
    }
    /**
     * @brief The largest order that keeps available >= 0 (risk_account_max_order_qty()).
     * @param[in] instrument Instrument id.
     * @param[in] side ::RISK_ORDER_BUY or ::RISK_ORDER_SELL.
     * @param[in] price Fill price, or 0 for the mark.
     * @param[in] leg ::RISK_SIDE_BOTH in one-way mode, else the hedge leg.
     * @return Contracts (INFINITY when unbounded).
     */
    double max_order_qty(uint32_t instrument, uint32_t side, double price = 0.0, uint32_t leg = RISK_SIDE_BOTH) const
    {
        double q = 0.0;
        check(risk_account_max_order_qty(a_, instrument, side, leg, price, &q), "risk_account_max_order_qty");
        return q;
    }

private:
    void check(int rc, const char *call) const { detail::check(rc, call, risk_account_errmsg(a_)); }
    risk_account *a_ = nullptr;
};

} // namespace risk

#endif /* RISK_HPP */
