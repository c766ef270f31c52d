// SPDX-License-Identifier: Apache-2.0
// ql_black.cpp: the QuantLib side of bench_options (built only when Debian's libquantlib0-dev is
// installed; QuantLib is never a dependency of the library). One call prices a batch with
// QuantLib::BlackCalculator(type, K, F, vol sqrt(T), e^(-rT)) and reads value(), deltaForward(),
// gammaForward(), vega(T), theta(F, T) and rho(T): the same construction as
// /work/shared/research/perf/ql_black.cpp, with every Greek QuantLib offers for Black-76.
#include <ql/pricingengines/blackcalculator.hpp>
#include <ql/version.hpp>

#include <cmath>
#include <cstddef>

extern "C" const char *bench_ql_version(void);
extern "C" void bench_ql_black(std::size_t n, const int *type, const double *f, const double *k, const double *t,
                               const double *vol, const double *r, double *price, double *delta, double *gamma,
                               double *vega, double *theta, double *rho);

const char *bench_ql_version(void)
{
    return QL_VERSION;
}

void bench_ql_black(std::size_t n, const int *type, const double *f, const double *k, const double *t,
                    const double *vol, const double *r, double *price, double *delta, double *gamma, double *vega,
                    double *theta, double *rho)
{
    using namespace QuantLib;
    for (std::size_t i = 0; i < n; i++) {
        BlackCalculator bc(type[i] > 0 ? Option::Call : Option::Put, k[i], f[i], vol[i] * std::sqrt(t[i]),
                           std::exp(-r[i] * t[i]));
        price[i] = bc.value();
        delta[i] = bc.deltaForward();
        gamma[i] = bc.gammaForward();
        vega[i] = bc.vega(t[i]);
        theta[i] = bc.theta(f[i], t[i]);
        rho[i] = bc.rho(t[i]);
    }
}
