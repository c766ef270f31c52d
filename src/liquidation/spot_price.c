/* SPDX-License-Identifier: Apache-2.0 */
/* Liquidation price of a spot balance: the price of one asset at which the account's cross pool
 * reaches its MM (health factor 1), all other prices held.
 *
 * The asset's price moves together with the marks of the instruments on it (its "underlying"
 * prices), by one ratio k: the same move the position liquidation prices of price.c solve for,
 * so the spot liquidation price of asset u is price(u) x k_u, where k_u is the cross pool's
 * liquidation factor on u, and every cross position on u has its liquidation price at
 * mark x k_u. This is Drift's choice (sdk/src/user.ts, User.spotLiquidationPrice adds the
 * free-collateral delta of the perp market that shares the spot market's oracle). The solver
 * walks the margin tiers of the positions on u; docs/formulas.md derives f(k). */
#include "core/internal.h"

RISK_API int risk_account_spot_liquidation_price(const risk_account *account, uint32_t asset, double *price_out)
{
    if (!account)
        return RISK_ENULL;
    risk_account *a = (risk_account *)account; /* the message is not account state */
    const risk_engine *e = a->engine;
    if (!price_out)
        return risk__fail(e, &a->errmsg, RISK_ENULL, "price_out is NULL");
    if (asset >= e->n_assets)
        return risk__fail(e, &a->errmsg, RISK_ENOTFOUND, "unknown asset %u", asset);
    double price = NAN;
    if (asset != e->valuation) { /* V's price is 1 by definition: nothing to move */
        risk__pool_factors f;
        risk__pool_factors_solve(a, asset, RISK_ID_NONE, &f);
        if (f.has_liquidation)
            price = e->assets[asset].price * f.liquidation_k;
    }
    *price_out = price;
    risk__clear(&a->errmsg);
    return RISK_OK;
}
