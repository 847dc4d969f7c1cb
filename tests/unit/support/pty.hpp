// An openpty pair for tests that need a real tty: the test plays the module on the master side.
#pragma once

#include <climits>
#include <pty.h>
#include <string>
#include <unistd.h>

namespace cellgate::testing {

class Pty {
public:
    Pty() {
        char name[PATH_MAX];
        if (::openpty(&master_, &slave_, name, nullptr, nullptr) != 0) return;
        slave_path_ = name;
        // Keep the slave open, like the simulator, so the tty survives our port's close.
    }
    ~Pty() {
        close_master();
        if (slave_ >= 0) ::close(slave_);
    }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;

    bool ok() const { return master_ >= 0 && !slave_path_.empty(); }
    int master() const { return master_; }
    const std::string& slave_path() const { return slave_path_; }
    void close_master() {
        if (master_ >= 0) ::close(master_);
        master_ = -1;
    }

private:
    int master_ = -1;
    int slave_ = -1;
    std::string slave_path_;
};

}  // namespace cellgate::testing
