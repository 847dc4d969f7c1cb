// How fast the durable outbox accepts messages on this machine's disk (not in CI).
//
//   cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCELLGATE_TESTS=OFF
//   cmake --build build/release --target outbox_bench && build/release/outbox_bench [dir]
//
// Three shapes of load, each on a fresh file in `dir` (default /var/tmp, which must be on the disk
// under test): a burst of 10 000 enqueued at once (a backlog handed over by the local broker),
// a stream with 32 in flight (many publishers), and one at a time (the cost of one fsync).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bridge/outbox.hpp"
#include "bridge/outbox_stats.hpp"
#include "daemon/sd_loop.hpp"

using namespace cellgate;
using namespace cellgate::bridge;
using std::chrono::duration;

namespace {

struct Result {
    double seconds = 0;
    uint64_t commits = 0;
    std::vector<double> latency_ms;
};

// Enqueues `total` messages keeping at most `inflight` uncommitted, on a fresh file.
Result run(const std::string& dir, std::chrono::milliseconds window, size_t total, size_t inflight) {
    const std::string path = dir + "/outbox-bench.db";
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    SdEventLoop loop;
    OutboxConfig cfg;
    cfg.path = path;
    cfg.commit_window = window;
    std::string error;
    auto o = open_outbox(loop, cfg, error);
    if (!o) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
    }
    Result r;
    r.latency_ms.reserve(total);
    size_t sent = 0, done = 0;
    const auto start = Clock::now();
    auto pump = [&](auto& self) -> void {
        while (sent < total && sent - done < inflight) {
            ++sent;
            const auto at = Clock::now();
            OutboxMessage m;
            m.session = "bench";
            m.topic = "/sys/a1b2c3/dev1/thing/event/property/post";
            m.format = "property";
            m.payload = R"({"temperature":21.5,"humidity":40,"seq":)" + std::to_string(sent) + "}";
            o->enqueue(std::move(m), [&, at, self](std::expected<uint64_t, OutboxError> id) {
                if (!id) {
                    std::fprintf(stderr, "enqueue failed: %s\n", id.error().message.c_str());
                    std::exit(1);
                }
                r.latency_ms.push_back(duration<double, std::milli>(Clock::now() - at).count());
                if (++done == total) loop.exit(0);
                self(self);
            });
        }
    };
    pump(pump);
    loop.run();
    r.seconds = duration<double>(Clock::now() - start).count();
    r.commits = outbox_commit_count(*o);
    std::filesystem::remove(path);
    return r;
}

void print(const char* name, size_t total, const Result& r) {
    auto l = r.latency_ms;
    std::sort(l.begin(), l.end());
    const auto pct = [&](double p) { return l[std::min(l.size() - 1, static_cast<size_t>(p * static_cast<double>(l.size())))]; };
    std::printf("%-34s %7zu msgs %6.2f s %9.0f msgs/s %6llu commits %7.1f commits/s  latency p50 %6.2f ms p99 %6.2f ms\n",
                name, total, r.seconds, static_cast<double>(total) / r.seconds,
                static_cast<unsigned long long>(r.commits), static_cast<double>(r.commits) / r.seconds, pct(0.5),
                pct(0.99));
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "/var/tmp";
    using std::chrono::milliseconds;
    print("burst 10000, window 10 ms", 10'000, run(dir, milliseconds(10), 10'000, 10'000));
    print("burst 10000, window 0", 10'000, run(dir, milliseconds(0), 10'000, 10'000));
    print("stream, 32 in flight, window 10 ms", 10'000, run(dir, milliseconds(10), 10'000, 32));
    print("stream, 32 in flight, window 0", 10'000, run(dir, milliseconds(0), 10'000, 32));
    print("one at a time, window 0", 1'000, run(dir, milliseconds(0), 1'000, 1));
}
