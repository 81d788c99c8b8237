#include "checks/asio_checks.h"

#include <fmt/format.h>
#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lvsctl/error.h"

namespace lvsctl::checks {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t max_reply = 255;  // nanny's buffer, less its NUL

// Whether a match of `expression` in the first bytes of a reply is also a match in the whole of
// it: not with `$`, nor with GNU's word and buffer boundaries (\b \B \< \> \` \'), which more
// bytes could undo. Conservative: a `$` or one of those escapes anywhere says no.
bool match_holds(std::string_view expression) {
    if (expression.find('$') != std::string_view::npos) {
        return false;
    }
    for (std::size_t i = 0; i + 1 < expression.size(); ++i) {
        if (expression[i] == '\\') {
            if (std::string_view("bB<>`'").find(expression[i + 1]) != std::string_view::npos) {
                return false;
            }
            ++i;
        }
    }
    return true;
}

// How a reply is judged (ReplyMatcher), and how few of its bytes already decide it.
class Judge {
  public:
    explicit Judge(const MonitorChecks& checks)
        : matcher_(checks.expect, checks.use_regex),
          expect_(checks.expect),
          any_(expect_.empty() || expect_ == "*"),
          regex_(checks.use_regex && !any_),
          match_holds_(regex_ && match_holds(expect_)) {}

    // "" and "*" take any reply, and no reply: a connect (and the send) is enough.
    bool takes_anything() const { return any_; }

    // The verdict on the bytes so far when more bytes cannot change it; std::nullopt otherwise.
    std::optional<bool> early(std::string_view reply) const {
        if (any_) {
            return true;
        }
        if (regex_) {
            // A NUL ends the text the expression sees (ReplyMatcher): nothing after it counts.
            if (reply.find('\0') != std::string_view::npos ||
                (match_holds_ && matcher_.matches(reply))) {
                return matcher_.matches(reply);
            }
            return std::nullopt;
        }
        const auto common = std::min(reply.size(), expect_.size());
        if (reply.substr(0, common) != expect_.substr(0, common)) {
            return false;
        }
        if (reply.size() >= expect_.size()) {
            return true;
        }
        return std::nullopt;
    }

    bool matches(std::string_view reply) const { return matcher_.matches(reply); }

    // Why `reply` fails.
    std::string why(std::string_view reply) const {
        return fmt::format("reply {} does not {} {}", quoted(reply),
                           regex_ ? "match" : "start with", quoted(expect_));
    }

  private:
    ReplyMatcher matcher_;
    std::string expect_;
    bool any_;
    bool regex_;
    bool match_holds_;
};

asio::ip::tcp::endpoint endpoint(const CheckTarget& target) {
    const auto& bytes = target.address.bytes();
    if (target.address.is_v4()) {
        asio::ip::address_v4::bytes_type v4{};
        std::copy_n(bytes.begin(), v4.size(), v4.begin());
        return {asio::ip::address_v4(v4), target.port};
    }
    return {asio::ip::address_v6(bytes), target.port};
}

// One check in flight: its socket and its reply. Kept from one check (and round) to the next.
struct Slot {
    explicit Slot(asio::io_context& io) : socket(io) {}

    enum class Phase : std::uint8_t { connecting, sending, reading };

    asio::ip::tcp::socket socket;
    std::array<char, max_reply> reply{};
    std::size_t size = 0;
    std::size_t target = 0;
    // Bumped by each verdict: a handler of an earlier check (aborted by the close) sees a
    // different one and does nothing.
    std::uint64_t generation = 0;
    Phase phase = Phase::connecting;
    Clock::time_point started;
    Clock::time_point deadline;
};

// A check started, in the order of their starts (so of their deadlines: one timeout for all).
struct Started {
    Slot* slot;
    std::uint64_t generation;  // still in flight while it is the slot's
};

// The starts of a round are made in this many steps of the spread (or 1 ms steps, if shorter):
// one wake-up of the loop for a few checks rather than one each (1,000 checks over 1.5 s: a step
// of 47 ms, 31 checks). A start is late by less than a step, never early. One wake-up per check
// costs the checking thread half as much again here (bench/README.md, monitor_checks).
constexpr std::int64_t steps = 32;

// What lasts from one round to the next. `io` is declared first, so destroyed last: the sockets
// and the timer go before it.
struct Loop {
    asio::io_context io{1};  // one thread: the caller's
    // The one timer of a round: the next step of starts, or the oldest check's deadline.
    asio::steady_timer timer{io};
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<Started> started;
};

// One round: every target once, at most `concurrency` at once, their starts spread.
class Round {
  public:
    Round(Loop& loop, std::size_t concurrency, const std::vector<CheckTarget>& targets,
          const MonitorChecks& checks, std::chrono::milliseconds spread,
          const FailureSink& on_failures)
        : on_failures_(on_failures),
          io_(loop.io),
          timer_(loop.timer),
          started_(loop.started),
          targets_(targets),
          checks_(checks),
          judge_(checks),
          timeout_(checks.timeout),
          spread_(std::max(spread, std::chrono::milliseconds(0))),
          step_(std::max<std::chrono::nanoseconds>(spread_ / steps, std::chrono::milliseconds(1))) {
        idle_.reserve(concurrency);
        for (std::size_t i = concurrency; i-- > 0;) {
            idle_.push_back(loop.slots[i].get());  // slot 0 first
        }
        started_.clear();
        started_.reserve(targets.size());
        results_.resize(targets.size());
        for (std::size_t i = 0; i < targets.size(); ++i) {
            results_[i].address = targets[i].address;
        }
    }

    std::vector<CheckResult> run() {
        if (targets_.empty()) {
            return {};
        }
        io_.restart();
        begun_ = Clock::now();
        settle();
        io_.run();
        return std::move(results_);
    }

  private:
    // After each event: fails the checks past their deadline, starts those whose time has come
    // while a slot is idle, and sets the timer for whatever comes next.
    // Then hands over the failures it found.
    void settle() {
        const auto now = Clock::now();
        expire(now);
        launch_due(now);
        arm();
        if (!failed_.empty()) {
            const auto batch = std::move(failed_);
            failed_.clear();
            on_failures_(batch);
        }
    }

    // Target i's time: i x spread / n after the start of the round.
    Clock::time_point due(std::size_t target) const {
        return begun_ + spread_ * static_cast<std::int64_t>(target) /
                            static_cast<std::int64_t>(targets_.size());
    }

    // The deadlines are in the order of the starts: only the oldest checks can be due.
    void expire(Clock::time_point now) {
        for (; oldest_ < started_.size(); ++oldest_) {
            const auto& [slot, generation] = started_[oldest_];
            if (generation != slot->generation) {
                continue;  // done
            }
            if (slot->deadline > now) {
                return;
            }
            timed_out(*slot);
        }
    }

    void launch_due(Clock::time_point now) {
        while (next_ < targets_.size() && !idle_.empty() && due(next_) <= now) {
            Slot& slot = *idle_.back();
            idle_.pop_back();
            start(slot, next_++);
        }
    }

    // The timer at the earlier of the next start's step (when a slot is idle for it; otherwise
    // a check's end makes room) and the oldest check's deadline. Left alone when it is already
    // set no later than that (its wake-up settles again); cancelled once the round is done.
    void arm() {
        auto wanted = Clock::time_point::max();
        if (next_ < targets_.size() && !idle_.empty()) {
            const auto n = (due(next_) - begun_ + step_ - std::chrono::nanoseconds(1)) / step_;
            wanted = begun_ + n * step_;  // the step at or after it
        }
        while (oldest_ < started_.size() &&
               started_[oldest_].generation != started_[oldest_].slot->generation) {
            ++oldest_;
        }
        if (oldest_ < started_.size()) {
            wanted = std::min(wanted, started_[oldest_].slot->deadline);
        }
        if (wanted == Clock::time_point::max()) {
            if (armed_ != Clock::time_point::max()) {
                timer_.cancel();  // the round is done: nothing may keep the loop running
                armed_ = Clock::time_point::max();
            }
            return;
        }
        if (armed_ <= wanted) {
            return;
        }
        armed_ = wanted;
        timer_.expires_at(wanted);  // a wait already set ends, aborted
        timer_.async_wait([this](const asio::error_code& e) {
            if (e != asio::error::operation_aborted) {
                armed_ = Clock::time_point::max();
                settle();
            }
        });
    }

    void start(Slot& slot, std::size_t target) {
        slot.target = target;
        slot.size = 0;
        slot.phase = Slot::Phase::connecting;
        slot.started = Clock::now();
        slot.deadline = slot.started + timeout_;
        const auto generation = slot.generation;
        started_.push_back({&slot, generation});
        const auto to = endpoint(targets_[target]);
        asio::error_code ec;
        slot.socket.open(to.protocol(), ec);
        if (ec) {  // e.g. out of descriptors: this check fails, the round goes on
            finish(slot, false, fmt::format("connect: {}", ec.message()));
            return;  // launch_due()'s loop takes the slot again
        }
        slot.socket.async_connect(to, [this, &slot, generation](const asio::error_code& e) {
            if (generation == slot.generation) {
                connected(slot, e);
                settle();
            }
        });
    }

    void connected(Slot& slot, const asio::error_code& ec) {
        if (ec) {
            finish(slot, false, fmt::format("connect: {}", ec.message()));
            return;
        }
        if (checks_.send.empty()) {
            if (judge_.takes_anything()) {
                finish(slot, true);
            } else {
                read(slot);  // a server that speaks first (an SSH or SMTP banner)
            }
            return;
        }
        slot.phase = Slot::Phase::sending;
        const auto generation = slot.generation;
        asio::async_write(slot.socket, asio::buffer(checks_.send),
                          [this, &slot, generation](const asio::error_code& e, std::size_t) {
                              if (generation == slot.generation) {
                                  sent(slot, e);
                                  settle();
                              }
                          });
    }

    void sent(Slot& slot, const asio::error_code& ec) {
        if (ec) {
            finish(slot, false, fmt::format("send: {}", ec.message()));
        } else if (judge_.takes_anything()) {
            finish(slot, true);
        } else {
            read(slot);
        }
    }

    void read(Slot& slot) {
        slot.phase = Slot::Phase::reading;
        const auto generation = slot.generation;
        slot.socket.async_read_some(
            asio::buffer(slot.reply.data() + slot.size, max_reply - slot.size),
            [this, &slot, generation](const asio::error_code& e, std::size_t n) {
                if (generation == slot.generation) {
                    got(slot, e, n);
                    settle();
                }
            });
    }

    void got(Slot& slot, const asio::error_code& ec, std::size_t n) {
        slot.size += n;
        const std::string_view reply(slot.reply.data(), slot.size);
        if (!ec) {
            if (const auto verdict = judge_.early(reply)) {
                finish(slot, *verdict, *verdict ? std::string() : judge_.why(reply));
            } else if (slot.size == max_reply) {
                judge(slot, "");
            } else {
                read(slot);
            }
        } else if (ec == asio::error::eof || slot.size > 0) {
            judge(slot, "");  // all there is (a reset after a reply: the reply counts)
        } else {
            finish(slot, false, fmt::format("read: {}", ec.message()));
        }
    }

    // The verdict on the whole reply; `cut` says why it ended short, for the message.
    void judge(Slot& slot, std::string_view cut) {
        const std::string_view reply(slot.reply.data(), slot.size);
        if (judge_.matches(reply)) {
            finish(slot, true);
        } else if (reply.empty()) {
            finish(slot, false, "no reply: the server closed the connection");
        } else {
            finish(slot, false, fmt::format("{}{}", judge_.why(reply), cut));
        }
    }

    void timed_out(Slot& slot) {
        const auto seconds = timeout_.count();
        switch (slot.phase) {
            case Slot::Phase::connecting:
                finish(slot, false, fmt::format("connect: timed out after {} s", seconds));
                return;
            case Slot::Phase::sending:
                finish(slot, false, fmt::format("send: timed out after {} s", seconds));
                return;
            case Slot::Phase::reading:
                if (slot.size == 0) {
                    finish(slot, false, fmt::format("no reply within {} s", seconds));
                } else {
                    judge(slot, fmt::format(" (nothing more within {} s)", seconds));
                }
                return;
        }
    }

    // The check's result; its socket closed (what is pending ends, aborted, as a stale handler),
    // its slot idle again.
    void finish(Slot& slot, bool ok, std::string why = {}) {
        auto& result = results_[slot.target];
        result.ok = ok;
        result.why = std::move(why);
        result.latency =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - slot.started);
        ++slot.generation;
        asio::error_code ignored;
        slot.socket.close(ignored);
        idle_.push_back(&slot);
        if (!ok && on_failures_) {
            failed_.push_back(result);
        }
    }

    const FailureSink& on_failures_;
    std::vector<CheckResult> failed_;  // not handed over yet
    asio::io_context& io_;
    asio::steady_timer& timer_;
    std::vector<Started>& started_;
    const std::vector<CheckTarget>& targets_;
    const MonitorChecks& checks_;
    const Judge judge_;
    const std::chrono::seconds timeout_;
    const std::chrono::nanoseconds spread_;
    const std::chrono::nanoseconds step_;  // of the starts
    std::vector<Slot*> idle_;
    std::vector<CheckResult> results_;
    std::size_t next_ = 0;    // the next target to start
    std::size_t oldest_ = 0;  // started_[oldest_] is the oldest check that may be in flight
    Clock::time_point armed_ = Clock::time_point::max();  // the timer's, while it waits
    Clock::time_point begun_;
};

}  // namespace

struct AsioCheckRunner::Impl {
    Loop loop;
};

AsioCheckRunner::AsioCheckRunner() : impl_(std::make_unique<Impl>()) {}

AsioCheckRunner::~AsioCheckRunner() = default;

std::vector<CheckResult> AsioCheckRunner::run(const std::vector<CheckTarget>& targets,
                                              const MonitorChecks& checks,
                                              std::chrono::milliseconds spread,
                                              std::size_t concurrency,
                                              const FailureSink& on_failures) {
    const auto in_flight = std::min(std::max<std::size_t>(concurrency, 1), targets.size());
    try {
        auto& loop = impl_->loop;
        while (loop.slots.size() < in_flight) {
            loop.slots.push_back(std::make_unique<Slot>(loop.io));
        }
        Round round(loop, in_flight, targets, checks, spread, on_failures);
        return round.run();
    } catch (...) {
        // Whatever escaped a handler (memory) leaves handlers queued that name a round that is
        // gone: start again from a new loop rather than run them.
        impl_ = std::make_unique<Impl>();
        throw;
    }
}

}  // namespace lvsctl::checks
