// Delivery of one cloud session's outbox: in row-id order, at least once, a bounded window of
// publishes in flight, paced by the session's token bucket, each row removed only on its PUBACK.
//
// A connection that ends with publishes in flight leaves them unacknowledged for good: the
// MosquittoClient makes a new libmosquitto handle (and a clean session) per connection, so nothing
// resends them by itself. They become pending again and go first on the next connection, oldest
// first, while rows acknowledged in between (whose delete may still be on its way to the disk)
// are skipped.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "bridge/delivery_status.hpp"
#include "bridge/outbox.hpp"
#include "bridge/poison_probe.hpp"
#include "cloud/payload.hpp"
#include "cloud/rate_limit.hpp"
#include "cloud/topics.hpp"
#include "base/loop.hpp"

namespace cellgate::cloud {
class Session;
}

namespace cellgate::bridge {

using cloud::Session;
using cloud::Platform;
using cloud::TokenBucket;
using cloud::TopicFields;
using cloud::UplinkReply;

struct DeliveryTuning {
    // Publishes awaiting PUBACK. Below libmosquitto's own max_inflight_messages (20), so nothing
    // waits unseen inside the library, and small next to any platform's rate limit.
    size_t window = 16;
    // Rows read from the outbox per next() call, at most (and never more than the window has free).
    size_t batch = 64;
    // After a publish the client refused while connected (its socket just died, usually).
    milliseconds retry{1000};
    // Refusals of the same row in a row, while connected, before it is dropped as unsendable.
    unsigned max_refusals = 3;
    // Post ids remembered to match the platform's replies.
    size_t reply_memory = 4096;
    // A publish unacknowledged this long on a connection that still answers PINGREQs (a broker
    // that lost it, a platform that silently drops): the connection is dropped and made again,
    // which sends everything unacknowledged again. Its window slot would otherwise be gone for as
    // long as the connection lives.
    milliseconds puback_timeout{60'000};
    // A row the broker closes the connection for would go first on every connection and block
    // the session (see PoisonProbe). When each of this many connections in a row ended within
    // poison_window of that row's sending, the next connection holds the row back: if it then
    // lives poison_window, the row is dropped, logged and counted; if it dies anyway, the row
    // goes first again.
    unsigned poison_strikes = 5;
    milliseconds poison_window{3000};
};

class DeliveryLane {
public:
    // `bucket` paces this session's uplink and outlives the lane (RateBuckets).
    DeliveryLane(Scheduler& sched, Outbox& outbox, Session& session, TokenBucket& bucket, DeliveryTuning tuning = {});
    ~DeliveryLane();
    DeliveryLane(const DeliveryLane&) = delete;
    DeliveryLane& operator=(const DeliveryLane&) = delete;

    const std::string& name() const { return name_; }
    Platform platform() const { return platform_; }
    bool connected() const { return connected_; }
    size_t in_flight() const { return inflight_.size(); }

    // The session's events (the Bridge forwards them).
    void on_connected();
    void on_disconnected();
    void on_published(int mid);
    // New committed rows.
    void on_available();
    // The platform's reply to a post: counted when it answers one of ours.
    void on_reply(const UplinkReply& reply);
    // A message sent outside the outbox (an answer to a cloud request) counts against the rate.
    void charge();

    // Counters kept by the bridge for messages that never reached the outbox.
    void count_invalid();
    void count_dropped();

    // queued and dropped include the outbox's own counters.
    DeliveryStatus status() const;
    // A counter moved (the outbox's are polled by whoever reads status()).
    std::function<void()> on_change;

private:
    void drain();
    void check_acks();
    std::optional<PoisonProbe::Sent> oldest_in_flight() const;
    // The probe found `row` to be what the broker closes connections for.
    void drop_guilty(uint64_t row);
    // false: stop draining for now (a timer or an event resumes it).
    bool send(const OutboxMessage& m);
    void give_up(const OutboxMessage& m, const std::string& why);
    void remember_post(uint64_t id);
    void changed();

    Scheduler& sched_;
    Outbox& outbox_;
    Session& session_;
    DeliveryTuning tuning_;
    std::string name_;
    std::string where_;  // "cloud <name>: delivery", for the guard around the timers
    Platform platform_;
    TopicFields fields_;
    TokenBucket& bucket_;
    std::unique_ptr<Timer> timer_;
    std::unique_ptr<Timer> ack_timer_;

    bool connected_ = false;
    bool draining_ = false;
    uint64_t cursor_ = 0;                 // the last row handed to the client (or skipped)
    std::deque<OutboxMessage> buffer_;    // rows after cursor_, read ahead
    struct Flight {
        uint64_t id = 0;
        Clock::time_point sent{};
    };
    std::map<int, Flight> inflight_;      // mid -> row
    // Rows whose message id the client reused while they were still unacknowledged (65 535
    // publishes later): no PUBACK can name them any more; sent again on the next connection.
    std::vector<uint64_t> orphans_;
    PoisonProbe probe_;
    // Rows in flight when a connection ended, to send again; rows up to resend_until_ that are
    // not in it were acknowledged.
    std::set<uint64_t> resend_;
    uint64_t resend_until_ = 0;
    unsigned refusals_ = 0;

    // Ids of posts sent (as sent: mod 2^32) -> answered yet. Kept after the answer: a post sent
    // again (its PUBACK was lost with a connection) is answered again, and counts once.
    std::map<uint32_t, bool> posts_;
    std::deque<uint32_t> posts_order_;
    DeliveryStatus counts_;               // queued unused; dropped: ours only
};

}  // namespace cellgate::bridge
