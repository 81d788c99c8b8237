#include "lvsctl/lb/monitor_loop.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <tuple>

#include "lvsctl/error.h"
#include "lvsctl/fanout.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/lb/health_record.h"

namespace lvsctl {

namespace {

// A program line's words (validated: single spaces, no shell), "%h" replaced by `address`.
std::vector<std::string> program_argv(const std::string& line, const IpAddress& address) {
    std::vector<std::string> argv;
    std::size_t start = 0;
    for (;;) {
        const auto space = line.find(' ', start);
        auto word =
            line.substr(start, space == std::string::npos ? std::string::npos : space - start);
        for (auto at = word.find("%h"); at != std::string::npos; at = word.find("%h", at + 1)) {
            word.replace(at, 2, address.str());
        }
        argv.push_back(std::move(word));
        if (space == std::string::npos) {
            return argv;
        }
        start = space + 1;
    }
}

}  // namespace

bool MonitorLoop::reload(const MonitorLoopSettings& settings, bool first) {
    const auto name = desired_record_name(settings.cluster_id);
    const auto text = records_.read(name);
    if (!text) {
        if (first) {
            throw Error(ExitCode::data,
                        fmt::format("{}: no desired state: `agent apply` has not run for cluster "
                                    "{} on this LB (run lvsctl update)",
                                    records_.path(name), settings.cluster_id));
        }
        return false;
    }
    if (loaded_ && *loaded_ == *text) {
        return false;
    }
    try {
        const auto desired = parse_desired_state(*text);
        monitor_.load(desired);
        env_.log(fmt::format("cluster {} (serial {}): checking {} real servers every {} s",
                             desired.cluster_id, desired.serial, monitor_.targets().size(),
                             monitor_.checks().interval));
    } catch (const Error& e) {
        if (first) {
            throw Error(e.code(), fmt::format("{}: {}", records_.path(name), e.what()));
        }
        env_.log(fmt::format("{}: {}; the last good one is kept", records_.path(name), e.what()));
    }
    loaded_ = *text;  // a bad one is reported once, not every round
    return true;
}

std::vector<CheckResult> MonitorLoop::run_programs(const std::vector<CheckTarget>& targets,
                                                   const MonitorLoopSettings& settings) {
    const auto& c = monitor_.checks();
    const ReplyMatcher matcher(c.expect, c.use_regex);
    std::vector<CheckResult> results(targets.size());
    fan_out(targets.size(), settings.programs_parallel, [&](std::size_t i) {
        auto& r = results[i];
        r.address = targets[i].address;
        const auto start = MonitorClock::now();
        try {
            const auto out = programs_.run(program_argv(c.program, targets[i].address));
            r.ok = c.expect.empty() ? out.status == 0 : matcher.matches(out.out);
            if (!r.ok) {
                r.why = c.expect.empty() ? fmt::format("{} exited {}", c.program, out.status)
                                         : fmt::format("{} printed {}, not {}", c.program,
                                                       quoted(out.out), quoted(c.expect));
            }
        } catch (const Error& e) {
            r.why = e.what();
        }
        r.latency =
            std::chrono::duration_cast<std::chrono::milliseconds>(MonitorClock::now() - start);
    });
    return results;
}

std::map<IpAddress, double> MonitorLoop::loads(const MonitorLoopSettings& settings) {
    const auto& command = monitor_.checks().load_monitor;
    std::map<IpAddress, double> out;
    if (command.empty()) {
        return out;
    }
    // One run per server: its IPv4 and IPv6 addresses share the management address.
    std::map<IpAddress, std::vector<IpAddress>> by_mgmt;
    for (const auto& t : monitor_.targets()) {
        by_mgmt[t.mgmt_address].push_back(t.address);
    }
    std::vector<std::pair<IpAddress, std::vector<IpAddress>>> servers(by_mgmt.begin(),
                                                                      by_mgmt.end());
    std::vector<std::optional<double>> load(servers.size());
    std::vector<std::string> why(servers.size());
    fan_out(servers.size(), settings.programs_parallel, [&](std::size_t i) {
        try {
            const auto r = programs_.run({command, servers[i].first.str()});
            load[i] = r.status == 0 ? parse_load(r.out) : std::nullopt;
            if (!load[i]) {
                why[i] = r.status != 0 ? fmt::format("exit status {}", r.status)
                                       : fmt::format("no load in {}", quoted(r.out));
            }
        } catch (const Error& e) {
            why[i] = e.what();
        }
    });
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const auto& mgmt = servers[i].first;
        if (load[i]) {
            for (const auto& address : servers[i].second) {
                out[address] = *load[i];
            }
            load_failing_.erase(mgmt);
        } else if (load_failing_.insert(mgmt).second) {
            env_.log(fmt::format("running command \"{}\" \"{}\": {}; its weight is kept", command,
                                 mgmt.str(), why[i]));
        }
    }
    return out;
}

std::int64_t monitored_cluster(RecordStore& records) {
    std::vector<std::int64_t> ids;
    for (const auto& name : records.names()) {
        if (const auto id = record_cluster(name, "desired-cluster-"); id && *id > 0) {
            ids.push_back(*id);
        }
    }
    std::sort(ids.begin(), ids.end());
    if (ids.empty()) {
        throw Error(ExitCode::data,
                    fmt::format("{}: no desired state: `agent apply` has not run on this LB (run "
                                "`lvsctl update` on the management node)",
                                records.path("desired-cluster-N.json")));
    }
    if (ids.size() > 1) {
        throw Error(ExitCode::usage,
                    fmt::format("this LB serves clusters {}: run one monitor per cluster "
                                "(lvsctl monitor --cluster-id N, or the unit lvsctl-monitor@N)",
                                fmt::join(ids, ", ")));
    }
    return ids.front();
}

std::vector<CheckTarget> check_order(const Monitor& monitor) {
    auto targets = monitor.targets();
    const auto down = [&](const CheckTarget& t) {
        const auto* h = monitor.health(t.address);
        return h && h->state() == Health::down;
    };
    std::stable_sort(
        targets.begin(), targets.end(), [&](const CheckTarget& a, const CheckTarget& b) {
            const bool da = down(a);
            const bool db = down(b);
            if (da != db) {
                return da;
            }
            return std::tie(a.mgmt_address, a.address) < std::tie(b.mgmt_address, b.address);
        });
    return targets;
}

std::chrono::milliseconds round_spread(const MonitorChecks& checks) {
    const std::int64_t interval = std::int64_t{checks.interval} * 1000;
    const std::int64_t timeout = std::int64_t{checks.timeout} * 1000;
    return std::chrono::milliseconds(std::clamp<std::int64_t>(interval - timeout, 0, interval / 2));
}

std::optional<HealthRecord> MonitorLoop::apply(const MonitorLoopSettings& settings, MonitorTime now,
                                               bool wait) {
    auto record = monitor_.record(now, env_.unix_now());
    const auto write = [&] {
        records_.write(health_record_name(settings.cluster_id), to_json(record));
        for (const auto& line : monitor_.flush()) {
            env_.log(line);
        }
    };
    if (wait) {
        env_.locked(write);
    } else if (!env_.try_locked(write)) {
        return std::nullopt;
    }
    return record;
}

void MonitorLoop::round(const MonitorLoopSettings& settings) {
    const auto start = env_.now();
    if (env_.reload_requested()) {
        loaded_.reset();
    }
    reload(settings, false);
    const auto& c = monitor_.checks();
    const auto targets = check_order(monitor_);
    // A failure that takes a server out is applied when it is known, not when the round's slowest
    // check ends (a silent server holds its check for the whole timeout).
    std::set<IpAddress> reported;
    const FailureSink on_failures = [&](const std::vector<CheckResult>& failed) {
        const auto now = env_.now();
        bool taken_out = false;
        for (const auto& r : failed) {
            const auto* before = monitor_.health(r.address);
            const bool was_in = before && before->in_service();
            monitor_.checked(r.address, false, now, r.why, r.latency);
            reported.insert(r.address);
            const auto* after = monitor_.health(r.address);
            taken_out = taken_out || (was_in && after && !after->in_service());
        }
        if (taken_out) {
            apply(settings, now, false);
        }
    };
    const auto results = c.program.empty() ? checks_.run(targets, c, round_spread(c),
                                                         settings.concurrency, on_failures)
                                           : run_programs(targets, settings);
    const auto now = env_.now();
    for (const auto& r : results) {
        if (!reported.contains(r.address)) {
            monitor_.checked(r.address, r.ok, now, r.why, r.latency);
        }
    }
    std::map<IpAddress, double> loaded;
    if (!last_step_ || now - *last_step_ >= settings.step) {
        last_step_ = now;
        loaded = loads(settings);
    }
    monitor_.step(now, loaded);
    const auto record = *apply(settings, now, true);
    ++rounds_;
    publish(record, start);
}

void MonitorLoop::publish(const HealthRecord& record, MonitorTime start) {
    if (!metrics_) {
        return;
    }
    using Seconds = std::chrono::duration<double>;
    MetricsSnapshot s;
    s.desired = monitor_.services();
    s.health = record;
    s.rounds = rounds_;
    s.loop_lag_seconds = Seconds(lag_).count();
    s.kernel_errors = monitor_.kernel_errors();
    try {
        s.kernel = monitor_.kernel_table();
    } catch (const Error& e) {
        // The round's work is done; the metrics keep the counters of the last good read.
        env_.log(fmt::format("metrics: reading the IPVS table: {}", e.what()));
        return;
    }
    s.round_seconds = Seconds(env_.now() - start).count();
    metrics_->publish(to_prometheus(s));
}

void MonitorLoop::run(const MonitorLoopSettings& settings) {
    reload(settings, true);
    std::size_t done = 0;
    while (!env_.stopping()) {
        const auto start = env_.now();
        lag_ = due_ && start > *due_ ? start - *due_ : MonitorClock::duration::zero();
        try {
            round(settings);
        } catch (const Error& e) {
            env_.log(fmt::format("{}; trying again next round", e.what()));
        }
        if (settings.rounds && ++done >= *settings.rounds) {
            return;
        }
        due_ = start + std::chrono::seconds(monitor_.checks().interval);
        env_.sleep_until(*due_);
    }
}

}  // namespace lvsctl
