// Files the config is, or names (secret files, CA/cert/key): opened without blocking, read with a
// bound, and the rule for who may read a secret file.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>

#include "base/unique_fd.hpp"
#include "daemon/config_reader.hpp"

namespace cellgate::config_detail {

std::string not_regular(mode_t mode) {
    const char* what = S_ISDIR(mode)    ? "a directory"
                       : S_ISFIFO(mode) ? "a FIFO"
                       : S_ISSOCK(mode) ? "a socket"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                                        : "a special file";
    return std::string("is ") + what + ", not a regular file";
}

std::expected<UniqueFd, FileError> open_regular(const std::string& path, struct stat& st) {
    const auto failed = [](const char* what) {
        const int err = errno;
        return std::unexpected(FileError{err, std::string(what) + std::strerror(err)});
    };
    // stat() first: opening a device can have effects (a serial port's DTR), and a socket cannot
    // be opened at all.
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return std::unexpected(FileError{0, not_regular(st.st_mode)});
    // O_NONBLOCK: a FIFO swapped in since the stat() opens at once instead of waiting for a writer.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return failed("cannot open: ");
    if (::fstat(fd.get(), &st) < 0) return failed("cannot read: ");
    if (!S_ISREG(st.st_mode)) return std::unexpected(FileError{0, not_regular(st.st_mode)});
    return fd;
}

std::expected<std::string, std::string> read_all(int fd, size_t max) {
    const auto too_big = [&] {
        return max >= 1024 && max % 1024 == 0 ? "is larger than " + std::to_string(max / 1024) + " KiB"
                                              : "is larger than " + std::to_string(max) + " bytes";
    };
    std::string out;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::unexpected(std::string("cannot read: ") + std::strerror(errno));
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > max) return std::unexpected(too_big());
    }
}

std::optional<ServiceUser> service_user_to_check() {
    // The service runs as the user itself; only root, checking for it, can read what it cannot.
    if (::geteuid() != 0) return std::nullopt;
    const passwd* pw = ::getpwnam("cellgate");
    if (!pw) return std::nullopt;
    return ServiceUser{pw->pw_uid, pw->pw_gid};
}

SecretFileProblem secret_file_problem(const struct stat& st, std::optional<ServiceUser> service) {
    // Refused rather than warned about: the secret is already out to every local account and
    // service, and one chmod fixes it (ssh refuses such a private key for the same reason).
    if (st.st_mode & S_IROTH)
        return {Severity::error, "is readable by every user; " + std::string(kSecretFileRule)};
    if (service) {
        const bool readable = (st.st_uid == service->uid && (st.st_mode & S_IRUSR)) ||
                              (st.st_gid == service->gid && (st.st_mode & S_IRGRP));
        if (!readable)
            return {Severity::warning, "the service runs as user cellgate, which cannot read it; " +
                                           std::string(kSecretFileRule)};
    }
    return {};
}

}  // namespace cellgate::config_detail
