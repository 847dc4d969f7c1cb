// Test and bench hook into the SQLite outbox, kept out of the public seam.
#pragma once

#include <cstdint>

#include "bridge/outbox.hpp"

namespace cellgate::bridge {

// Transactions the writer has committed since open (0 for any other Outbox): N enqueues within
// one commit window should cost one fsync, not N.
uint64_t outbox_commit_count(const Outbox& outbox);

}  // namespace cellgate::bridge
