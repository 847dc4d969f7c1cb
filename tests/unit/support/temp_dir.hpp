// A private directory for one test's files, removed with everything in it when the object goes.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace cellgate::testing {

class TempDir {
public:
    explicit TempDir(std::string_view prefix = "cellgate-test") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }
    // The path of `name` in the directory.
    std::string operator/(std::string_view name) const { return (path_ / name).string(); }

    // Writes `content` to `name` with `mode` and returns its path.
    std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) const {
        const std::string p = *this / name;
        std::ofstream(p, std::ios::binary) << content;
        if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod failed for " + p);
        return p;
    }

private:
    std::filesystem::path path_;
};

}  // namespace cellgate::testing
