/* SPDX-License-Identifier: Apache-2.0 */
/* The stress test's lane kernel (stress/stress.c, "the vector path"; docs/stress.md 1.5 and 5):
 * one account under every scenario of a batch, FW scenarios at a time in vector lanes.
 *
 * Included by stress.c once per width, with FW (lanes: 2, 4 or 8), FW_NAME(x) (x with the
 * width's suffix) and FW_TARGET (the function attribute of the width's instruction set, or
 * nothing) defined; it defines FW_NAME(fast_account) and undefines the three. The vectors are
 * GCC/Clang vector extensions of the width's native size, so every operation maps to one packed
 * instruction (a wider vector would be split, and its compares scalarised).
 *
 * Bits: each lane does, in the same order, the IEEE operations that risk__scen_revalue
 * (portfolio/scenario.c: revalue_future's linear cross path, revalue_balance, the pending
 * funding) and risk__scen_states (portfolio/scenario.h) do for its scenario, and then what
 * stress_run adds to the book partials. Packed IEEE operations give each lane the scalar
 * operation's bits and -ffp-contract=off keeps them unfused, so every width gives the same
 * bits as the scalar path. The only non-IEEE steps, rounding to whole numbers (the
 * quantizations' floor and ceiling, quanta_of's nearest), are exact integer roundings written
 * with the 2^52 trick; they equal the scalar ones for every input, signed zeros included. */

#define VD FW_NAME(fv_d)
#define VI FW_NAME(fv_i)
#define H(x) FW_NAME(x)

typedef double VD __attribute__((vector_size(FW * sizeof(double))));
typedef int64_t VI __attribute__((vector_size(FW * sizeof(int64_t))));

#define FW_INLINE FW_TARGET static inline __attribute__((always_inline))
#define FW_SIGN ((int64_t)0x8000000000000000ULL)

FW_INLINE VD H(load)(const double *p)
{
    VD v;
    memcpy(&v, p, sizeof v);
    return v;
}

FW_INLINE void H(addi)(int64_t *p, VI v) /* *p += v, lane by lane */
{
    VI x;
    memcpy(&x, p, sizeof x);
    x += v;
    memcpy(p, &x, sizeof x);
}

/* the first n lanes of v to p */
FW_INLINE void H(store_n)(double *p, VD v, size_t n)
{
    if (n >= FW) {
        memcpy(p, &v, sizeof v);
        return;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = v[i];
}

FW_INLINE VD H(sel)(VI m, VD a, VD b) /* m ? a : b, lane by lane (m all ones or zero) */
{
    return (VD)(((VI)a & m) | ((VI)b & ~m));
}

FW_INLINE VD H(abs)(VD x)
{
    return (VD)((VI)x & ~FW_SIGN);
}

FW_INLINE int H(any)(VI m) /* some lane of a mask set */
{
#if defined(FAST_X86) && FW == 8
    return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0;
#elif defined(FAST_X86) && FW == 4
    return _mm256_movemask_pd((__m256d)m) != 0;
#elif defined(FAST_X86) && FW == 2
    return _mm_movemask_pd((__m128d)m) != 0;
#else
    int64_t x = 0;
    for (int i = 0; i < FW; i++)
        x |= m[i];
    return x != 0;
#endif
}

FW_INLINE VD H(splat)(double x) /* x in every lane (a broadcast; 0 + x would be an addition) */
{
    VD v;
    for (int i = 0; i < FW; i++)
        v[i] = x;
    return v;
}

/* |x| < 2^52 (or 2^52 itself): the nearest whole number (ties to even) with x's sign, |x|
 * rounded by the addition of 2^52; round_nearest of stress.c. */
FW_INLINE VD H(nearest_small)(VD x)
{
    VI sign = (VI)x & FW_SIGN;
    VD ax = (VD)((VI)x & ~FW_SIGN);
    return (VD)((VI)((ax + TWO52) - TWO52) | sign);
}

/* risk__quantize (core/internal.h), lane by lane. risk__whole_against rounds x = n -+ tol, with
 * |x| < 2^52 whenever |n| < 2^52 (from 2^49 on tol is below half an ulp of n, so x = n), to
 * floor(x) (down) or ceil(x) (up) through the integer conversion: here the nearest whole r
 * steps down (up) by one where it lies above (below) x, which is the same number; the
 * conversion's ceiling of x in (-1, 0] is +0 where r may be -0, which adding +0 mends (and
 * changes nothing else). Lanes with |n| >= 2^52 or NaN keep the value. */
FW_INLINE VD H(quantize)(VD value, double qs, int up)
{
    VD n = value * qs;
    VD an = (VD)((VI)n & ~FW_SIGN);
    VD tol = 8.9e-16 * H(sel)(an > 1.0, an, H(splat)(1.0));
    tol = H(sel)(tol < 0.0625, tol, H(splat)(0.0625));
    VD x = up ? n - tol : n + tol;
    VD r = H(nearest_small)(x);
    VD whole = up ? H(sel)(r < x, r + 1.0, r) + 0.0 : H(sel)(r > x, r - 1.0, r);
    return H(sel)(an < TWO52, whole / qs, value);
}

/* quanta_of's whole number, as a double: round_nearest(value x scale), NaN 0, clamped to +-2^62. */
FW_INLINE VD H(quanta)(VD value, double scale)
{
    VD x = value * scale;
    VD ax = (VD)((VI)x & ~FW_SIGN);
    VD n = H(sel)(ax < TWO52, H(nearest_small)(x), x);
    n = H(sel)(n == n, n, H(splat)(0.0));
    n = H(sel)(n > Q_MAX, H(splat)(Q_MAX), n);
    return H(sel)(n < -Q_MAX, H(splat)(-Q_MAX), n);
}

/* A whole n, |n| <= 2^62, as hi x 2^32 + lo with lo in [0, 2^32): hi = floor(n / 2^32) (n / 2^32
 * is exact; its floor is the MAGIC rounding stepped down where it went up), lo = n - hi x 2^32
 * (exact: the difference is a double); both read as integers from MAGIC sums (the low bits of
 * v + MAGIC are v's for whole |v| < 2^51), so no conversion instruction is needed. */
FW_INLINE void H(split)(VD n, VI *hi, VI *lo)
{
    VD y = n * 0x1p-32;
    VD ym = y + MAGIC;
    VD r = ym - MAGIC;
    VI up = r > y; /* all ones (-1) where r = floor(y) + 1 */
    VD fl = H(sel)(up, r - 1.0, r);
    VI magic = (VI)H(splat)(MAGIC);
    *hi = ((VI)ym - magic) + up;
    *lo = (VI)((n - fl * 0x1p32) + MAGIC) - magic;
}

/* One position's terms of scenarios s0 .. s0 + FW - 1 into the sums, as revalue_future adds
 * them: upnl_v = qc (m - entry) sp, IM = notional ra sp, MM = (notional mr - cu) sp, with the
 * tier's numbers picked lane by lane (tiers, a constant: FAST_ONE, FAST_TWO or FAST_FOUR). With
 * unit (the settle price 1 in every scenario), the products by sp, exact, are left out. */
FW_INLINE void H(pos_add)(const fast_pos *p, size_t s0, VD *upnl, VD *im, VD *mm, const uint32_t tiers,
                          const int unit)
{
    VD m = H(load)(p->mark + s0);
    VD notional = p->aq * m;
    VD u = p->qc * (m - p->entry);
    VD mr, cu, ra;
    if (tiers == FAST_ONE) {
        mr = H(splat)(p->mmr[0]);
        cu = H(splat)(p->cum[0]);
        ra = H(splat)(p->rate[0]);
    } else if (tiers == FAST_TWO) {
        VI g0 = notional > p->cap[0];
        mr = H(sel)(g0, H(splat)(p->mmr[1]), H(splat)(p->mmr[0]));
        cu = H(sel)(g0, H(splat)(p->cum[1]), H(splat)(p->cum[0]));
        ra = H(sel)(g0, H(splat)(p->rate[1]), H(splat)(p->rate[0]));
    } else { /* the caps below the notional (they strictly increase) */
        VI g0 = notional > p->cap[0], g1 = notional > p->cap[1], g2 = notional > p->cap[2];
        mr = H(sel)(g0, H(splat)(p->mmr[1]), H(splat)(p->mmr[0]));
        cu = H(sel)(g0, H(splat)(p->cum[1]), H(splat)(p->cum[0]));
        ra = H(sel)(g0, H(splat)(p->rate[1]), H(splat)(p->rate[0]));
        mr = H(sel)(g1, H(splat)(p->mmr[2]), mr);
        cu = H(sel)(g1, H(splat)(p->cum[2]), cu);
        ra = H(sel)(g1, H(splat)(p->rate[2]), ra);
        mr = H(sel)(g2, H(splat)(p->mmr[3]), mr);
        cu = H(sel)(g2, H(splat)(p->cum[3]), cu);
        ra = H(sel)(g2, H(splat)(p->rate[3]), ra);
    }
    VD i_v = notional * ra, m_v = notional * mr - cu;
    if (!unit) {
        VD sp = H(load)(p->settle + s0);
        u = u * sp;
        i_v = i_v * sp;
        m_v = m_v * sp;
    }
    *upnl += u;
    *im += i_v;
    *mm += m_v;
}

/* The scenarios s0 .. s0 + FW - 1 of one account (base: the block holding the base lane S, whose
 * equity and state it records first). sums: FAST_SUMS rows of S8 int64 (pnl hi, lo; negative pnl
 * hi, lo; negative equity hi, lo; liquidatable; bankrupt; newly liquidatable; newly bankrupt;
 * raw pnl, raw negative pnl), the negative ones summing the negative quanta (stress.c negates
 * them when it merges). The raw rows take whole quanta below 2^51 as they are. */
FW_INLINE void H(block)(const fast_ctx *c, fast_acct *a, int64_t *sums, const fast_out *o, size_t row, size_t s0,
                        const int base)
{
    const VD zero = {0};
    const VI ones = ~(VI){0};
    const size_t S8 = c->S8;
    {
        VD upnl = zero, im = zero, mm = zero;
        for (uint32_t i = 0; i < a->n_pos; i++) { /* revalue_future, linear cross */
            const fast_pos *p = &a->pos[i];
            switch (p->mode) {
            case FAST_ONE | FAST_UNIT:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_ONE, 1);
                break;
            case FAST_TWO | FAST_UNIT:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_TWO, 1);
                break;
            case FAST_FOUR | FAST_UNIT:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_FOUR, 1);
                break;
            case FAST_ONE:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_ONE, 0);
                break;
            case FAST_TWO:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_TWO, 0);
                break;
            default:
                H(pos_add)(p, s0, &upnl, &im, &mm, FAST_FOUR, 0);
                break;
            }
        }
        VD net = zero, cv = zero, ci = zero, cm = zero, l = zero, li = zero, lm = zero;
        for (uint32_t k = 0; k < a->n_bal; k++) { /* revalue_balance */
            const fast_bal *bl = &a->bal[k];
            VD p = H(load)(bl->price + s0);
            net += bl->amount * p;
            if (bl->collateral) {
                VD value = p * bl->tq;
                cv += value;
                ci += value * bl->w_init;
                cm += value * bl->w_maint;
            } else {
                VD liab = -bl->amount * p;
                l += liab;
                li += liab * bl->w_init;
                lm += liab * bl->w_maint;
            }
        }
        for (uint32_t k = 0; k < a->n_fund; k++) /* pending funding, after the balances */
            upnl += a->fund[k].got * H(load)(a->fund[k].settle + s0);
        /* risk__scen_states, with no isolated margin (iso is +0) and cross_upnl equal to upnl */
        VD equity = net + upnl + zero;
        VD c_maint = cm + upnl;
        VD r_maint = lm + mm;
        VD c_init = ci + upnl, r_init = li + im;
        /* broken: some value not finite (quantization keeps a value finite or not, so the test
         * runs on the unquantized ones). Their sum is finite when all are (a sum with an
         * infinite or NaN term is not), so only a block whose sum is not (that, or an overflow)
         * needs the exact test, where x x 0 is +-0 for a finite x and NaN otherwise. */
        VD all = equity + c_init + c_maint + r_init + r_maint + cv + l + upnl;
        VI broken = ~((all - all) == 0.0);
        if (H(any)(broken)) {
            VD nf = equity * 0.0 + c_init * 0.0 + c_maint * 0.0 + r_init * 0.0 + r_maint * 0.0 + cv * 0.0 +
                    l * 0.0 + upnl * 0.0;
            broken = ~(nf == 0.0);
        }
        if (c->quantize)
            equity = H(quantize)(equity, c->qscale, 0);
        VI owes = a->owes_pos ? ones : (l > 0.0);
        VI bank = broken | (owes & (equity <= 0.0));
        VI liq = (VI){0}, mc = (VI){0};
        VD h = zero;
        /* Without a health factor to report, a block whose every scenario is clear of the
         * thresholds needs neither the quantization of C_maint and R_maint nor the division: R_maint
         * <= 0 stays <= 0 when rounded up (h is +inf), and C_maint - e >= k (R_maint + e), with e
         * two quanta (more than either rounding moves them) and k = 4 x margin-call health
         * (>= 1), leaves h >= k / 2 after both roundings and the division: neither below 1 nor
         * below the margin-call health. Any other block, or NaN, takes the exact test. */
        if (o->health || H(any)(~((r_maint <= 0.0) | (c_maint - c->clear_e >= c->clear_k * (r_maint + c->clear_e))))) {
            if (c->quantize) {
                c_maint = H(quantize)(c_maint, c->qscale, 0);
                r_maint = H(quantize)(r_maint, c->qscale, 1);
            }
            h = H(sel)(r_maint > 0.0, c_maint / r_maint, H(splat)(INFINITY));
            liq = (h < 1.0) & ~bank;
            mc = (h < c->mch) & ~bank & ~liq;
        }
        if (base) { /* lane S: the account before any move (stress.c, fast_tables_build) */
            size_t i = c->S - s0;
            a->base_equity = equity[i];
            a->new_liq = !(bank[i] | liq[i]);
            a->new_bank = !bank[i];
        }
        /* stress_run */
        VD pnl = equity - a->base_equity;
        if (c->w)
            pnl = H(load)(c->w + s0) * pnl;
        size_t n_out = s0 < c->S ? c->S - s0 : 0;
        if (o->pnl)
            H(store_n)(o->pnl + row + s0, pnl, n_out);
        if (o->equity)
            H(store_n)(o->equity + row + s0, equity, n_out);
        if (o->health)
            H(store_n)(o->health + row + s0, h, n_out);
        if (o->state) {
            VI st = (bank & 3) | (liq & 2) | (mc & 1);
            for (size_t i = 0; i < FW && i < n_out; i++)
                o->state[row + s0 + i] = (uint32_t)st[i];
        }
        int64_t *x = sums + s0;
        VI hi, lo;
        VD xq = pnl * c->vscale;
        if (!H(any)(~(H(abs)(xq) < 0x1p51))) {
            /* every lane below 2^51 quanta (the usual case): the whole number nearest (ties to
             * even, round_nearest's) read from the MAGIC sum, into the raw rows (stress.c
             * carries them into hi and lo before they could overflow) */
            VI q = (VI)(xq + MAGIC) - (VI)H(splat)(MAGIC);
            H(addi)(x + 10 * S8, q);
            H(addi)(x + 11 * S8, q & (xq < 0.0)); /* q is 0 or below there */
        } else {
            VD q = H(quanta)(pnl, c->vscale);
            H(split)(q, &hi, &lo);
            VI neg = q < 0.0;
            H(addi)(x, hi);
            H(addi)(x + S8, lo);
            H(addi)(x + 2 * S8, hi & neg);
            H(addi)(x + 3 * S8, lo & neg);
        }
        VI def = equity < 0.0;
        if (H(any)(def)) {
            H(split)(H(quanta)(equity, c->vscale), &hi, &lo);
            H(addi)(x + 4 * S8, hi & def);
            H(addi)(x + 5 * S8, lo & def);
        }
        if (H(any)(liq | bank)) { /* counts: the masks are -1 */
            H(addi)(x + 6 * S8, -liq);
            H(addi)(x + 7 * S8, -bank);
            if (a->new_liq)
                H(addi)(x + 8 * S8, -liq);
            if (a->new_bank)
                H(addi)(x + 9 * S8, -bank);
        }
    }
}

/* One account under every scenario: the block holding the base lane first (the others' P&L
 * need its equity), then the others. sums: FAST_SUMS rows of S8 int64 (see H(block)). */
FW_TARGET static void H(fast_account)(const fast_ctx *c, fast_acct *a, int64_t *sums, const fast_out *o, size_t row)
{
    size_t sb = c->S / FW * FW;
    H(block)(c, a, sums, o, row, sb, 1);
    for (size_t s0 = 0; s0 < c->S8; s0 += FW)
        if (s0 != sb)
            H(block)(c, a, sums, o, row, s0, 0);
}

#undef FW_SIGN
#undef FW_INLINE
#undef H
#undef VI
#undef VD
#undef FW_TARGET
#undef FW_NAME
#undef FW
