/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file risk.h
 * @brief librisk: an embeddable risk engine for leveraged digital-asset trading.
 *
 * The only header users need. It includes every public header of the library. See
 * docs/guide.md for a tour, docs/formulas.md for the definitions and their sources, and
 * docs/threading.md for the threading contract.
 */
#ifndef RISK_H
#define RISK_H

#include "risk/common.h"
#include "risk/version.h"
#include "risk/status.h"
#include "risk/alloc.h"
#include "risk/engine.h"
#include "risk/basket.h"
#include "risk/account.h"
#include "risk/position.h"
#include "risk/margin.h"
#include "risk/liquidation.h"
#include "risk/vol.h"
#include "risk/options.h"
#include "risk/whatif.h"
#include "risk/trading.h"
#include "risk/rates.h"
#include "risk/optimise.h"
#include "risk/snapshot.h"
#include "risk/portfolio.h"
#include "risk/stress.h"
#include "risk/var.h"
#include "risk/cascade.h"
#include "risk/bulk.h"
#include "risk/tick.h"

#endif /* RISK_H */
