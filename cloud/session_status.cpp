#include "cloud/session_status.hpp"

namespace cellgate::cloud {

const char* to_string(SessionState s) {
    switch (s) {
        case SessionState::idle: return "idle";
        case SessionState::waiting_link: return "waiting-link";
        case SessionState::connecting: return "connecting";
        case SessionState::connected: return "connected";
        case SessionState::backoff: return "backoff";
        case SessionState::auth_failed: return "auth-failed";
    }
    return "unknown";
}

}  // namespace cellgate::cloud
