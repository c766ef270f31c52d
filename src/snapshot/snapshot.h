/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot internals shared by the files of src/snapshot/. Never installed. */
#ifndef RISK_SNAPSHOT_INTERNAL_H
#define RISK_SNAPSHOT_INTERNAL_H

#include "core/internal.h"

/* CRC-32C of n bytes, continuing from crc (0 to start): hardware when the processor has it. */
uint32_t risk__crc32c(uint32_t crc, const void *data, size_t n);
/* The same, always in software (tests compare the two). */
uint32_t risk__crc32c_soft(uint32_t crc, const void *data, size_t n);

#endif
