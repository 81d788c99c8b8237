// `lvsctl monitor`'s loop (lb/monitor_loop.h) over fakes: a check runner answering per server, a
// clock that moves only when the loop sleeps, the state directory, the fake kernel, and a runner
// for load commands and check programs. One journal shows what happened in which order.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "fake_kernel.h"
#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/health_record.h"
#include "lvsctl/lb/monitor_loop.h"

using namespace lvsctl;
using lvsctl::testing::FakeKernel;
using lvsctl::testing::ip;

namespace {

using Journal = std::vector<std::string>;

// As the real runner: the failures are handed over first (they end early: refused), then the
// round ends (it journals "checks done"), `takes` later on the clock.
struct FakeChecks : CheckRunner {
    Journal* journal = nullptr;
    std::set<IpAddress> down;
    std::size_t rounds = 0;
    std::chrono::milliseconds spread{-1};  // of the last round
    std::vector<IpAddress> order;          // of the last round's targets
    MonitorTime* clock = nullptr;          // moved on by `takes` each round
    std::chrono::seconds takes{0};
    std::vector<CheckResult> run(const std::vector<CheckTarget>& targets, const MonitorChecks&,
                                 std::chrono::milliseconds round_spread, std::size_t,
                                 const FailureSink& on_failures) override {
        ++rounds;
        spread = round_spread;
        order.clear();
        for (const auto& t : targets) {
            order.push_back(t.address);
        }
        std::vector<CheckResult> out;
        std::vector<CheckResult> failed;
        for (const auto& t : targets) {
            const bool ok = !down.contains(t.address);
            out.push_back({t.address, ok, ok ? "" : "connect: Connection refused", {}});
            if (!ok) {
                failed.push_back(out.back());
            }
        }
        if (!failed.empty() && on_failures) {
            on_failures(failed);
        }
        if (clock) {
            *clock += takes;
        }
        if (journal) {
            journal->push_back("checks done");
        }
        return out;
    }
};

// The loop runs programs from several threads at once (fan_out), as the real runner is used.
struct Programs : ProcessRunner {
    std::map<std::string, ProcessResult> answers;  // by the argv joined with spaces
    std::vector<std::string> calls;
    std::mutex mutex;
    ProcessResult run(const std::vector<std::string>& argv, const std::string&) override {
        std::string key;
        for (const auto& a : argv) {
            key += (key.empty() ? "" : " ") + a;
        }
        const std::lock_guard lock(mutex);
        calls.push_back(key);
        const auto it = answers.find(key);
        return it == answers.end() ? ProcessResult{127, "", "not found"} : it->second;
    }
};

struct Records : RecordStore {
    Journal& journal;
    std::map<std::string, std::string> files;
    explicit Records(Journal& j) : journal(j) {}
    std::vector<std::string> names() override { return {}; }
    std::optional<std::string> read(const std::string& name) override {
        const auto it = files.find(name);
        return it == files.end() ? std::nullopt : std::optional(it->second);
    }
    void write(const std::string& name, const std::string& text) override {
        journal.push_back("write " + name);
        files[name] = text;
    }
    void rename(const std::string&, const std::string&) override {}
    std::string path(const std::string& name) const override { return "/var/lib/lvsctl/" + name; }
};

struct JournalKernel : FakeKernel {
    Journal& journal;
    explicit JournalKernel(Journal& j) : journal(j) {}
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        journal.push_back(fmt::format("kernel {} changes", changes.size()));
        return FakeKernel::apply(changes);
    }
};

struct Env : MonitorEnvironment {
    Journal& journal;
    MonitorTime clock{};
    std::vector<std::string> logs;
    explicit Env(Journal& j) : journal(j) {}
    MonitorTime now() override { return clock; }
    std::int64_t unix_now() override {
        return 1'000'000 +
               std::chrono::duration_cast<std::chrono::seconds>(clock.time_since_epoch()).count();
    }
    void sleep_until(MonitorTime until) override { clock = std::max(clock, until); }
    bool stopping() override { return false; }
    bool reload_requested() override { return false; }
    void log(const std::string& line) override { logs.push_back(line); }
    void locked(const std::function<void()>& fn) override {
        journal.push_back("lock");
        fn();
        journal.push_back("unlock");
    }
    bool busy = false;  // `agent apply` holds the lock: try_locked() fails
    bool try_locked(const std::function<void()>& fn) override {
        if (busy) {
            journal.push_back("lock busy");
            return false;
        }
        locked(fn);
        return true;
    }
};

struct Sink : MetricsSink {
    std::vector<std::string> texts;
    void publish(std::string text) override { texts.push_back(std::move(text)); }
    bool has(const std::string& line) const {
        return !texts.empty() && texts.back().find("\n" + line + "\n") != std::string::npos;
    }
};

struct Lb {
    Journal journal;
    JournalKernel kernel{journal};
    FakeChecks checks;
    Programs programs;
    Records records{journal};
    Env env{journal};
    Monitor monitor{kernel};
    Sink metrics;
    MonitorLoop loop{monitor, checks, programs, records, env, &metrics};

    // The agent has applied `cluster` (interval 10, reentry 10 unless changed).
    void applied(const Cluster& cluster) {
        const auto desired = desired_state(cluster, cluster.load_balancers[0], 30);
        records.files[desired_record_name(cluster.id)] = to_json(desired);
        for (const auto& svc : desired.services) {
            ServiceInfo info;
            info.key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
            for (const auto& d : svc.destinations) {
                DestInfo dest;
                dest.key = {d.address, d.port};
                dest.settings.weight = d.weight;
                info.dests.push_back(dest);
            }
            kernel.table[info.key] = info;
        }
    }
    void rounds(std::size_t n) {
        MonitorLoopSettings s;
        s.cluster_id = 1;
        s.rounds = n;
        loop.run(s);
    }
    std::optional<std::uint32_t> weight(const char* address) {
        const auto& dests = kernel.table.begin()->second.dests;
        const auto it = std::find_if(dests.begin(), dests.end(), [&](const DestInfo& d) {
            return d.key.address == ip(address);
        });
        return it == dests.end() ? std::nullopt : std::optional(it->settings.weight);
    }
    HealthRecord health() {
        return parse_health_record(records.files.at(health_record_name(1)), "health");
    }
};

}  // namespace

TEST_CASE("monitor loop: without a desired state from the agent it refuses to start") {
    Lb lb;
    try {
        lb.rounds(1);
        FAIL("started");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK(std::string(e.what()) ==
              "/var/lib/lvsctl/desired-cluster-1.json: no desired state: `agent apply` has not "
              "run for cluster 1 on this LB (run lvsctl update)");
    }
}

TEST_CASE("monitor loop: a dead server leaves within one round; the record is written first") {
    Lb lb;
    lb.applied(lvsctl::testing::seed_cluster());
    lb.rounds(1);
    CHECK(lb.kernel.messages == 0);  // both answered: nothing to change
    CHECK(lb.health().servers.at(ip("10.39.84.43")).state == Health::up);

    lb.checks.down.insert(ip("10.39.84.43"));
    lb.checks.journal = &lb.journal;
    lb.journal.clear();
    lb.rounds(1);
    // Out as soon as its check failed, before the round's other checks ended; the round's end
    // writes the record again and has nothing more for the kernel.
    CHECK(lb.journal == Journal{"lock", "write health-cluster-1.json", "kernel 1 changes", "unlock",
                                "checks done", "lock", "write health-cluster-1.json", "unlock"});
    CHECK_FALSE(lb.weight("10.39.84.43"));
    CHECK(lb.weight("10.39.84.44") == 32u);
    CHECK(std::find(lb.env.logs.begin(), lb.env.logs.end(),
                    "[inactive] shutting down 10.39.84.43:80 due to connection failure") !=
          lb.env.logs.end());
    const auto record = lb.health().servers.at(ip("10.39.84.43"));
    CHECK(record.state == Health::down);
    CHECK(record.why == "connect: Connection refused");
    CHECK(record.transitions == 1);  // counted once, not again at the round's end

    // Still down: nothing is taken out, so nothing is applied before the round ends.
    lb.journal.clear();
    lb.rounds(1);
    CHECK(lb.journal == Journal{"checks done", "lock", "write health-cluster-1.json", "unlock"});
    lb.checks.journal = nullptr;

    // Back after reentry (10 s = two more rounds of 10 s), at weight 1.
    lb.checks.down.clear();
    lb.rounds(1);
    CHECK_FALSE(lb.weight("10.39.84.43"));
    lb.rounds(2);
    CHECK(lb.weight("10.39.84.43") == 1u);
}

TEST_CASE("monitor loop: a new desired state is picked up without a restart") {
    Lb lb;
    auto cluster = lvsctl::testing::seed_cluster();
    lb.applied(cluster);
    lb.rounds(1);
    cluster.servers[1].weight = 10;
    lb.applied(cluster);  // the agent applied weight 10
    lb.rounds(1);
    CHECK(lb.health().servers.at(ip("10.39.84.44")).configured == 10);
    CHECK(lb.health().servers.at(ip("10.39.84.44")).weight == 10);
    CHECK(std::count_if(lb.env.logs.begin(), lb.env.logs.end(), [](const auto& l) {
              return l == "cluster 1 (serial 0): checking 2 real servers every 10 s";
          }) == 2);
}

TEST_CASE("monitor loop: load commands every step move weights; a failing one keeps the weight") {
    Lb lb;
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.load_monitor = "/usr/sbin/h2e_get_cluster_load.sh";
    lb.applied(cluster);
    lb.programs.answers["/usr/sbin/h2e_get_cluster_load.sh 10.39.94.43"] = {
        0, " 04:46:24 up 3 days,  1 user,  load average: 0.10, 0.20, 0.30\n", ""};
    lb.programs.answers["/usr/sbin/h2e_get_cluster_load.sh 10.39.94.44"] = {1, "", "ssh: timeout"};
    lb.rounds(7);  // 60 s: loads at 0, 20, 40, 60
    CHECK(lb.programs.calls.size() == 8);
    CHECK(lb.weight("10.39.84.43") > 32u);
    CHECK(lb.weight("10.39.84.44") == 32u);
    const auto failures = std::count_if(lb.env.logs.begin(), lb.env.logs.end(), [](const auto& l) {
        return l.find("\"10.39.94.44\": exit status 1; its weight is kept") != std::string::npos;
    });
    CHECK(failures == 1);  // logged when it starts failing, not every time
}

TEST_CASE("monitor loop: a check program gets the server's address; its output is judged") {
    Lb lb;
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.check_program = "/usr/lib/check --host %h";
    cluster.check_expect = "OK";
    lb.applied(cluster);
    lb.programs.answers["/usr/lib/check --host 10.39.84.43"] = {0, "OK\n", ""};
    lb.programs.answers["/usr/lib/check --host 10.39.84.44"] = {0, "FAIL: disk\n", ""};
    lb.rounds(1);
    CHECK(lb.checks.rounds == 0);  // no socket checks
    CHECK(lb.weight("10.39.84.43") == 32u);
    CHECK_FALSE(lb.weight("10.39.84.44"));
    CHECK(lb.health().servers.at(ip("10.39.84.44")).why ==
          "/usr/lib/check --host %h printed \"FAIL: disk\\n\", not \"OK\"");
}

TEST_CASE(
    "monitor loop: each round hands the metrics its verdicts, the kernel's counters and "
    "its own lag") {
    Lb lb;
    lb.applied(lvsctl::testing::seed_cluster());
    lb.kernel.table.begin()->second.dests[1].stats.conns = 7;  // 10.39.84.44
    lb.rounds(1);
    REQUIRE(lb.metrics.texts.size() == 1);
    CHECK(lb.metrics.has("lvsctl_monitor_rounds_total 1"));
    CHECK(lb.metrics.has("lvsctl_monitor_loop_lag_seconds 0"));

    lb.checks.down.insert(ip("10.39.84.43"));
    lb.checks.clock = &lb.env.clock;
    lb.checks.takes = std::chrono::seconds(12);  // longer than the interval (10 s)
    lb.rounds(2);
    REQUIRE(lb.metrics.texts.size() == 3);
    const std::string web1 = R"({fwmark="100",family="inet",address="10.39.84.43"})";
    const std::string web2 = R"({fwmark="100",family="inet",address="10.39.84.44"})";
    CHECK(lb.metrics.has(R"(lvsctl_server_up{address="10.39.84.43"} 0)"));
    CHECK(lb.metrics.has(R"(lvsctl_server_transitions_total{address="10.39.84.43"} 1)"));
    CHECK(lb.metrics.has("lvsctl_destination_weight" + web1 + " 0"));
    CHECK(lb.metrics.has("lvsctl_destination_weight" + web2 + " 32"));
    CHECK(lb.metrics.has("lvsctl_destination_connections_total" + web2 + " 7"));
    CHECK(lb.metrics.has("lvsctl_monitor_rounds_total 3"));
    CHECK(lb.metrics.has("lvsctl_monitor_round_duration_seconds 12"));
    CHECK(lb.metrics.has("lvsctl_monitor_loop_lag_seconds 2"));  // due at 10 s, began at 12 s
}

TEST_CASE(
    "monitor loop: starts are spread so that a check waiting out its timeout is never late "
    "for the next round") {
    MonitorChecks c;
    c.interval = 10;
    c.timeout = 3;
    CHECK(round_spread(c) == std::chrono::milliseconds(5000));  // half the interval at most
    c.timeout = 7;
    CHECK(round_spread(c) == std::chrono::milliseconds(3000));  // 3 s + 7 s = the interval
    c.timeout = 10;
    CHECK(round_spread(c) == std::chrono::milliseconds(0));  // nanny's default: all at once
    c.interval = 2;
    c.timeout = 5;
    CHECK(round_spread(c) == std::chrono::milliseconds(0));

    Lb lb;
    lb.applied(lvsctl::testing::seed_cluster());  // interval 10, timeout 10
    lb.rounds(1);
    CHECK(lb.checks.spread == std::chrono::milliseconds(0));
}

TEST_CASE("monitor loop: the servers that are down are checked first") {
    Lb lb;
    lb.applied(lvsctl::testing::seed_cluster());
    lb.rounds(1);
    CHECK(lb.checks.order == std::vector<IpAddress>{ip("10.39.84.43"), ip("10.39.84.44")});
    lb.checks.down.insert(ip("10.39.84.44"));
    lb.rounds(1);  // 44 found down
    lb.rounds(1);
    CHECK(lb.checks.order == std::vector<IpAddress>{ip("10.39.84.44"), ip("10.39.84.43")});
    lb.checks.down.clear();
    lb.rounds(1);  // 44 passes: re-entering, no longer down
    lb.rounds(1);
    CHECK(lb.checks.order == std::vector<IpAddress>{ip("10.39.84.43"), ip("10.39.84.44")});
}

TEST_CASE("monitor loop: while the agent holds the lock, a removal waits for the round's end") {
    Lb lb;
    lb.applied(lvsctl::testing::seed_cluster());
    lb.rounds(1);
    lb.checks.down.insert(ip("10.39.84.43"));
    lb.checks.journal = &lb.journal;
    lb.env.busy = true;
    lb.journal.clear();
    lb.rounds(1);
    CHECK(lb.journal == Journal{"lock busy", "checks done", "lock", "write health-cluster-1.json",
                                "kernel 1 changes", "unlock"});
    CHECK_FALSE(lb.weight("10.39.84.43"));
    lb.checks.journal = nullptr;
}
