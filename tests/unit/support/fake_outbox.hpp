// An Outbox in memory whose group commits happen when the test says so (commit(), fail()), with
// rows a restart would find (seed()) and limit drops on demand (drop_oldest()). It records what
// the delivery side acknowledged and what it dropped.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bridge/outbox.hpp"

namespace cellgate::testing {

class FakeOutbox final : public bridge::Outbox {
public:
    using OutboxMessage = bridge::OutboxMessage;

    void enqueue(OutboxMessage m, Done done) override { pending.push_back({std::move(m), std::move(done)}); }

    std::vector<OutboxMessage> next(const std::string& session, uint64_t after_id, size_t max) override {
        ++next_calls;
        std::vector<OutboxMessage> out;
        for (auto it = rows.upper_bound(after_id); it != rows.end() && out.size() < max; ++it)
            if (it->second.session == session) out.push_back(it->second);
        return out;
    }

    void acknowledge(uint64_t id) override {
        acked.push_back(id);
        remove(id);
    }

    void drop(uint64_t id) override {
        dropped_rows.push_back(id);
        remove(id);
    }

    std::vector<std::string> sessions() const override {
        std::set<std::string> names;
        for (const auto& [id, m] : rows)
            if (!hidden.contains(id)) names.insert(m.session);
        return {names.begin(), names.end()};
    }

    bridge::OutboxCounters counters(const std::string& session) const override {
        bridge::OutboxCounters c;
        for (const auto& [id, m] : rows)
            if (m.session == session && !hidden.contains(id)) ++c.queued;
        if (auto it = dropped.find(session); it != dropped.end()) c.dropped = it->second;
        return c;
    }

    // The writer's group commit: ids, rows, completions, then on_available per session.
    void commit() {
        auto batch = std::move(pending);
        pending.clear();
        std::set<std::string> names;
        for (auto& p : batch) {
            p.message.id = next_id++;
            rows[p.message.id] = p.message;
            names.insert(p.message.session);
            p.done(p.message.id);
        }
        for (const auto& s : names)
            if (on_available) on_available(s);
    }

    void fail(const std::string& why, bridge::OutboxErrorKind kind = bridge::OutboxErrorKind::failed) {
        auto batch = std::move(pending);
        pending.clear();
        for (auto& p : batch)
            p.done(std::unexpected(
                bridge::OutboxError{kind, why, std::make_shared<const OutboxMessage>(std::move(p.message))}));
    }

    // Committed rows, as a restart finds them.
    void seed(const std::string& session, int count, const std::string& format = "raw", int qos = 1) {
        for (int i = 0; i < count; ++i) {
            OutboxMessage m;
            m.session = session;
            m.topic = "gw/" + std::to_string(next_id);
            m.format = format;
            m.payload = format == "raw" ? "p" + std::to_string(next_id) : R"({"temp":21})";
            m.qos = qos;
            m.created_ms = 1'700'000'000'000;
            m.id = next_id++;
            rows[m.id] = m;
        }
    }

    void drop_oldest(const std::string& session, uint64_t n) {
        for (uint64_t i = 0; i < n && !rows.empty(); ++i) rows.erase(rows.begin());
        dropped[session] += n;
        if (on_dropped) on_dropped(session, n, "max_messages");
    }

    struct Pending {
        OutboxMessage message;
        Done done;
    };
    std::vector<Pending> pending;
    std::map<uint64_t, OutboxMessage> rows;
    std::set<uint64_t> hidden;
    std::map<std::string, uint64_t> dropped;  // by a limit, per session
    std::vector<uint64_t> acked;              // acknowledge()d, in order
    std::vector<uint64_t> dropped_rows;       // drop()ped, in order
    uint64_t next_id = 1;
    int next_calls = 0;
    bool keep_acknowledged_rows = false;

private:
    void remove(uint64_t id) {
        if (keep_acknowledged_rows) hidden.insert(id);  // the grouped delete has not happened yet
        else rows.erase(id);
    }
};

}  // namespace cellgate::testing
