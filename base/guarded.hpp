// The one exception boundary for C callbacks (sd-event, sd-bus, libmosquitto, the outbox's
// completion eventfd) and for callbacks a component hands to another: an exception must never
// unwind through C frames, and one failing callback must not take its caller's state with it.
#pragma once

#include <cerrno>
#include <exception>
#include <string_view>
#include <type_traits>
#include <utility>

#include "base/log.hpp"

namespace cellgate {

// Runs `body` and returns its int result (0 for void bodies). Any exception is logged at err as
// "<owner>: <where>: <what>" and turned into -EIO, which a C library treats as an ordinary error.
// `owner` (a session's name, say) is joined only when something throws: callbacks run once per
// message, and the guard must cost nothing on that path.
template <class F>
int guarded(std::string_view owner, const char* where, F&& body) noexcept {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
            std::forward<F>(body)();
            return 0;
        } else {
            return static_cast<int>(std::forward<F>(body)());
        }
    } catch (const std::exception& e) {
        if (owner.empty()) log::error(where, ": ", e.what());
        else log::error(owner, ": ", where, ": ", e.what());
    } catch (...) {
        if (owner.empty()) log::error(where, ": unknown exception");
        else log::error(owner, ": ", where, ": unknown exception");
    }
    return -EIO;
}

template <class F>
int guarded(const char* where, F&& body) noexcept {
    return guarded(std::string_view{}, where, std::forward<F>(body));
}

}  // namespace cellgate
