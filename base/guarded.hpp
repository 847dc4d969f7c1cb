// The one exception boundary for C callbacks (sd-event, sd-bus, libmosquitto, the outbox's
// completion eventfd) and for callbacks a component hands to another: an exception must never
// unwind through C frames, and one failing callback must not take its caller's state with it.
#pragma once

#include <cerrno>
#include <exception>
#include <type_traits>
#include <utility>

#include "base/log.hpp"

namespace cellgate {

// Runs `body` and returns its int result (0 for void bodies). Any exception is logged at err as
// "<where>: <what>" and turned into -EIO, which a C library treats as an ordinary error.
template <class F>
int guarded(const char* where, F&& body) noexcept {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
            std::forward<F>(body)();
            return 0;
        } else {
            return static_cast<int>(std::forward<F>(body)());
        }
    } catch (const std::exception& e) {
        log::error(where, ": ", e.what());
    } catch (...) {
        log::error(where, ": unknown exception");
    }
    return -EIO;
}

}  // namespace cellgate
