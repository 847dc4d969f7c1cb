// Durations as people read them in logs and errors, in the config file's own syntax
// ("90s" -> "1m30s", "500ms", "1s250ms"), so a logged value can be pasted back into the config.
#pragma once

#include <chrono>
#include <string>

namespace cellgate {

std::string duration_text(std::chrono::milliseconds d);

}  // namespace cellgate
