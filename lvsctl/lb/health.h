// The LB monitor's decisions (docs/monitor.md): nanny's check semantics, its health state
// machine (a failure takes a server out; `reentry` seconds of successes bring it back with
// `weight >> 5`, doubled every step until the configured weight), its load rule, and the one
// function that turns (configured weight, health) into the kernel's weight. Pure: the clock is a
// parameter, the checks and the load command are run elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lvsctl/protocol/health_record.h"

namespace lvsctl {

using MonitorClock = std::chrono::steady_clock;
using MonitorTime = MonitorClock::time_point;

// Whether a check's reply passes: `expect` "*" (or empty) takes anything; otherwise the reply
// must start with `expect`, or, with `use_regex`, match it as a POSIX extended regular
// expression anywhere in the reply. Throws Error(ExitCode::data) for a regex that does not
// compile (found when the desired state is read, before anything is checked).
class ReplyMatcher {
  public:
    ReplyMatcher(std::string expect, bool use_regex);
    ReplyMatcher(const ReplyMatcher&) = delete;
    ReplyMatcher& operator=(const ReplyMatcher&) = delete;
    ~ReplyMatcher();
    bool matches(std::string_view reply) const;

  private:
    std::string expect_;
    bool use_regex_;
    struct Regex;
    std::unique_ptr<Regex> regex_;
};

// The load a load command printed: the first number after "load" and a ':' (uptime's "load
// average: 0.42, 0.40, 0.38"), or the whole output as one bare number. std::nullopt when it is
// neither, or negative.
std::optional<double> parse_load(std::string_view output);

struct HealthSettings {
    std::chrono::seconds reentry{180};  // consecutive successes before a server comes back
    std::chrono::seconds step{20};      // slow start doubles, the load rule runs, this often
    std::uint32_t load_scale = 10;      // the load rule's ceiling: load_scale x configured
};

// What a transition means for the log (nanny's words, see docs/monitor.md).
enum class Transition : std::uint8_t { none, taken_out, made_available, weight_changed };

// One real server's health and the weight the monitor gives it. `configured` is the weight of
// the desired state (the database's); `weight` is the monitor's own, while up.
class ServerHealth {
  public:
    // A server the monitor has not checked. `in_service_at`: the weight it already has in the
    // kernel, when the monitor (re)starts with it there: it stays at that weight until its first
    // check says otherwise (a restart does not flap), and is not taken out merely for being new.
    explicit ServerHealth(std::uint32_t configured,
                          std::optional<std::uint32_t> in_service_at = std::nullopt);

    // As a health record left it (health_record.h), for effective_weight().
    static ServerHealth restore(Health state, std::uint32_t configured, std::uint32_t weight,
                                bool in_service);

    Health state() const { return state_; }
    std::uint32_t configured() const { return configured_; }
    std::uint32_t weight() const { return weight_; }  // while in service
    bool in_slow_start() const { return slow_start_; }
    // Up, or not checked yet but in service when the monitor started.
    bool in_service() const {
        return state_ == Health::up || (state_ == Health::unchecked && kept_);
    }

    // A check's result at `now`.
    Transition check(bool ok, MonitorTime now, const HealthSettings& settings);
    // The step rules at `now` (slow start; the load rule, with `load` when there is one): call
    // at least every step; does nothing before a step has passed since the last change.
    Transition tick(MonitorTime now, std::optional<double> load, const HealthSettings& settings);
    // A new configured weight from a new desired state: the load rule starts again from it; a
    // server in slow start goes on doubling towards it.
    void set_configured(std::uint32_t configured);

  private:
    Health state_ = Health::unchecked;
    bool kept_ = false;  // unchecked, but in service when the monitor started: keeps weight_
    std::uint32_t configured_ = 0;
    std::uint32_t weight_ = 0;
    bool slow_start_ = false;
    MonitorTime since_{};      // reentering: when the successes began
    MonitorTime last_step_{};  // up: the last slow-start or load step
};

// The kernel weight of a destination, used by `agent apply` and the monitor alike:
// std::nullopt means "not in the service". Without a health record (no monitor, or a cluster
// without checks) the configured weight. Out of service (unchecked, down, re-entering): absent,
// or weight 0 with `quiesce`. A configured weight of 0 (an inactive server) is 0 whatever the
// health.
std::optional<std::uint32_t> effective_weight(std::uint32_t configured, const ServerHealth* health,
                                              bool quiesce);

// nanny's load rule, from the current weight `w` and the configured weight `c`: below a load of
// 1, w + (c/2)(1-L)^(1/3) up to scale x c; above 1, w - (c/2)(L-1)^(1/3) down to c. The new
// weight only when it moves by at least c/4 (and at least 1); otherwise std::nullopt.
std::optional<std::uint32_t> load_rule(std::uint32_t w, std::uint32_t c, double load,
                                       std::uint32_t scale);

}  // namespace lvsctl
