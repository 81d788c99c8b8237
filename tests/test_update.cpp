#include <doctest/doctest.h>
#include <fmt/format.h>

#include <mutex>

#include <algorithm>

#include "fake_environment.h"
#include "fake_host.h"
#include "fixtures.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/protocol/agent_documents.h"

#include <nlohmann/json.hpp>

using namespace lvsctl;
using lvsctl::testing::FakeConnector;
using lvsctl::testing::FakeEnvironment;
using lvsctl::testing::FakeHostState;
using lvsctl::testing::ip;
using lvsctl::testing::show;

namespace {

const char* kApplied =
    R"({"changed": true, "errors": [], "done": ["add address 10.39.84.131/32 to eth1"]})";

std::size_t position(const std::vector<std::string>& journal, const std::string& entry) {
    const auto it = std::find(journal.begin(), journal.end(), entry);
    return it == journal.end() ? journal.size() + 1000
                               : static_cast<std::size_t>(it - journal.begin());
}

// A server the seed cluster does not have yet: node 45, 10.39.94.45 / 10.39.84.45.
Server new_server_45() {
    return {45, ip("10.39.94.45"), ip("10.39.84.45"), std::nullopt, 22, 32, true, std::nullopt, {}};
}

// The seed cluster's LB, which has website IP 10.39.84.131 and answers an apply.
FakeHostState& lb_with_131(FakeEnvironment& env) {
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131"});
    lb.agent_answer = kApplied;
    return lb;
}

}  // namespace

TEST_CASE("update from empty: web servers first, then the LB; a second run changes nothing") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({}, {});
    lb.agent_answer = kApplied;
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];
    Updater updater(env, {});

    const auto plan = updater.run(cluster, true);
    CHECK(plan.pending());
    CHECK(plan.code() == ExitCode::ok);
    REQUIRE(plan.plan.size() == 3);
    CHECK(plan.plan[0].host == "web 10.39.94.43");
    CHECK(std::count(plan.plan[0].changes.begin(), plan.plan[0].changes.end(),
                     "add 10.39.84.131/32 to lo") == 1);
    CHECK(plan.plan[2].host == "lb 10.39.94.41");
    CHECK(std::count(plan.plan[2].changes.begin(), plan.plan[2].changes.end(),
                     "add service FWM 100") == 1);
    CHECK(plan.applied.empty());
    CHECK(lb.agent_input.empty());  // a plan runs no agent apply
    // What this cluster's agent placed, not every cluster's on the LB.
    CHECK(std::count(lb.commands.begin(), lb.commands.end(),
                     std::vector<std::string>{"lvsctl", "agent", "show", "--cluster-id", "1"}) ==
          1);
    CHECK(env.fakes.hosts[ip("10.39.94.43")].lo.empty());

    const auto result = updater.run(cluster, false);
    CHECK(result.code() == ExitCode::ok);
    CHECK(result.changed());
    const auto& journal = env.fakes.journal.entries;
    const auto lb_at = position(journal, "10.39.94.41: agent apply");
    // No record yet: the new one is written by appending to nothing.
    CHECK(position(journal, "10.39.94.43: lvsctl-record-append-batch") < lb_at);
    CHECK(position(journal, "10.39.94.44: lvsctl-record-append-batch") < lb_at);
    const auto sent = parse_desired_state(lb.agent_input);
    CHECK(sent.website_ips == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(sent.services.at(0).destinations.size() == 2);

    // The LB now has it all; the web servers too.
    lb.agent_show = show({"10.39.84.131"});
    lb.agent_answer = R"({"changed": false, "errors": [], "done": []})";
    const auto again = updater.run(cluster, false);
    CHECK(again.code() == ExitCode::ok);
    CHECK_FALSE(again.pending());
    CHECK_FALSE(again.changed());
    for (const auto& r : again.applied) {
        CHECK(r.changing_commands == 0);
    }
}

TEST_CASE("a web server down: the others converge, the LB gets no new website IP or server") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.website_ips.push_back(ip("10.39.84.132"));  // new
    cluster.servers.push_back(new_server_45());
    FakeEnvironment env;
    auto& lb = lb_with_131(env);
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.45")];  // 44 is down
    const auto result = Updater(env, {}).run(cluster, false);
    CHECK(result.code() == ExitCode::partial);
    REQUIRE(result.plan[1].error);
    CHECK(result.plan[1].error->starts_with("web 10.39.94.44: ssh root@10.39.94.44:22: connect"));
    CHECK(env.fakes.hosts[ip("10.39.94.43")].lo.size() == 2);
    const auto sent = parse_desired_state(lb.agent_input);
    CHECK(sent.website_ips == std::vector<IpAddress>{ip("10.39.84.131")});  // 132 held back
    // 45 is new and its lo is ready: it joins; 44 is down but the LB has it: it stays.
    std::vector<IpAddress> dests;
    for (const auto& d : sent.services.at(0).destinations) {
        dests.push_back(d.address);
    }
    CHECK(dests == std::vector<IpAddress>{ip("10.39.84.43"), ip("10.39.84.44"), ip("10.39.84.45")});
}

TEST_CASE("a new server whose web server is down: the LB converges without it, and its check") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.servers.push_back(new_server_45());
    FakeEnvironment env;
    auto& lb = lb_with_131(env);
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];  // 45 is down
    const auto result = Updater(env, {}).run(cluster, false);
    CHECK(result.code() == ExitCode::partial);
    CHECK(result.applied.at(3).ok());
    // What the agent reads strictly: a check of a server that is no destination is refused.
    const auto sent = parse_desired_state(lb.agent_input);
    REQUIRE(sent.checks);
    CHECK(sent.checks->servers ==
          std::vector<CheckedServer>{{ip("10.39.84.43"), ip("10.39.94.43")},
                                     {ip("10.39.84.44"), ip("10.39.94.44")}});
    CHECK(sent.services.at(0).destinations.size() == 2);
}

// A Progress that writes down what a run tells it.
class RecordedProgress : public Progress {
  public:
    void begin(std::string_view phase, std::size_t total) override {
        const std::lock_guard lock(mutex);
        events.push_back(std::string(phase) + " " + std::to_string(total));
    }
    void done(bool failed) override {
        const std::lock_guard lock(mutex);
        ++(failed ? failures : successes);
    }
    void end() override {
        const std::lock_guard lock(mutex);
        events.push_back("end");
    }
    std::mutex mutex;
    std::vector<std::string> events;
    int successes = 0;
    int failures = 0;
};

TEST_CASE("the run tells its progress: each phase with its hosts, each host done, failures") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.website_ips.push_back(ip("10.39.84.132"));
    FakeEnvironment env;
    lb_with_131(env);
    env.fakes.hosts[ip("10.39.94.43")];  // 44 is down
    RecordedProgress progress;
    UpdateSettings settings;
    settings.progress = &progress;
    const auto result = Updater(env, settings).run(cluster, false);
    CHECK(result.code() == ExitCode::partial);
    CHECK(progress.events == std::vector<std::string>{"reading hosts 3", "web servers: adding 2",
                                                      "load balancers 1", "web servers: removing 2",
                                                      "end"});
    // 44 fails at reading and counts as failed in each phase after; the rest succeed.
    CHECK(progress.failures == 3);
    CHECK(progress.successes == 5);
    SUBCASE("a plan reads only, and ends") {
        RecordedProgress plan_progress;
        settings.progress = &plan_progress;
        Updater(env, settings).run(cluster, true);
        CHECK(plan_progress.events == std::vector<std::string>{"reading hosts 3", "end"});
    }
}

TEST_CASE("a removed website IP leaves the LB before the web servers, and stays if the LB fails") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131", "10.39.84.139"});
    lb.agent_answer = kApplied;
    for (const char* web : {"10.39.94.43", "10.39.94.44"}) {
        auto& h = env.fakes.hosts[ip(web)];
        h.lo = {{ip("10.39.84.131"), 32}, {ip("10.39.84.139"), 32}};
        h.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
        h.files[web_record_path(1)] = "10.39.84.131\n10.39.84.139\n";
    }
    SUBCASE("the LB lets it go: then lo") {
        const auto result = Updater(env, {}).run(cluster, false);
        CHECK(result.code() == ExitCode::ok);
        const auto& journal = env.fakes.journal.entries;
        CHECK(position(journal, "10.39.94.41: agent apply") < position(journal, "10.39.94.43: ip"));
        CHECK(env.fakes.hosts[ip("10.39.94.43")].lo.size() == 1);
    }
    SUBCASE("the LB fails: the address stays on lo, the run says so") {
        lb.agent_answer =
            R"({"changed": false, "errors": ["remove address 10.39.84.139/32 from eth1: Operation not permitted"]})";
        lb.agent_status = 71;
        const auto result = Updater(env, {}).run(cluster, false);
        CHECK(result.code() == ExitCode::partial);
        CHECK(env.fakes.hosts[ip("10.39.94.43")].lo.size() == 2);
        CHECK(result.applied[0].errors.at(0).find("former website IPs left on lo") !=
              std::string::npos);
        CHECK(result.applied[2].errors.at(0) ==
              "lb 10.39.94.41: remove address 10.39.84.139/32 from eth1: Operation not permitted");
    }
}

TEST_CASE("exit codes: unreachable before any change is 68, refused is 77") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    // Nothing reachable.
    CHECK(Updater(env, {}).run(cluster, false).code() == ExitCode::unreachable);
    env.fakes.refuse[ip("10.39.94.41")] = ExitCode::permission;
    env.fakes.refuse[ip("10.39.94.43")] = ExitCode::permission;
    env.fakes.refuse[ip("10.39.94.44")] = ExitCode::permission;
    CHECK(Updater(env, {}).run(cluster, false).code() == ExitCode::permission);
}

TEST_CASE("a host that fails while changing makes the run partial, never 0") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.website_ips.push_back(ip("10.39.84.132"));  // new: every host has a change
    FakeEnvironment env;
    auto& lb = lb_with_131(env);
    auto& web43 = env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];

    SUBCASE("a web server's session stalls while it adds the website IP") {
        web43.stall_on = "lvsctl-record-append-batch";
        const auto result = Updater(env, {}).run(cluster, false);
        CHECK(result.code() == ExitCode::partial);
        REQUIRE(result.applied.size() == 3);
        CHECK(result.applied[0].failure == ExitCode::unreachable);
        CHECK(result.applied[0].errors.at(0) ==
              "web 10.39.94.43: ssh root@fake:22: sh did not finish within 30 s");
        // The LB does not get the new website IP while 43 may lack it.
        CHECK(parse_desired_state(lb.agent_input).website_ips ==
              std::vector<IpAddress>{ip("10.39.84.131")});
    }
    SUBCASE("the LB's answer is lost after the agent ran") {
        lb.stall_on = "agent apply";
        const auto result = Updater(env, {}).run(cluster, false);
        CHECK(result.code() == ExitCode::partial);
        CHECK(result.applied[2].failure == ExitCode::unreachable);
    }
    SUBCASE("anything else a host's step throws is that host's error, not the end") {
        web43.throw_on = "lvsctl-record-append-batch";
        const auto result = Updater(env, {}).run(cluster, false);
        CHECK(result.code() == ExitCode::partial);
        CHECK(result.applied[0].failure == ExitCode::internal);
        CHECK(result.applied[0].errors.at(0).starts_with("web 10.39.94.43: vector::_M_range"));
        CHECK(result.applied[1].ok());  // 44 converged
    }
    SUBCASE("a web server refused in the read: 77 only while nothing changed") {
        env.fakes.refuse[ip("10.39.94.44")] = ExitCode::permission;
        CHECK(Updater(env, {}).run(cluster, false).code() == ExitCode::partial);
        lb.agent_answer = R"({"changed": false, "errors": [], "done": []})";
        CHECK(Updater(env, {}).run(cluster, true).code() == ExitCode::permission);
    }
}

namespace {
// Lets the run go on `allowed` times, then says the lock is gone.
class CountingGuard : public RunGuard {
  public:
    explicit CountingGuard(int allowed) : allowed_(allowed) {}
    void check() override {
        if (allowed_-- <= 0) {
            throw Error(ExitCode::db_unavailable,
                        "database: the connection was lost, and the cluster lock with it");
        }
    }

  private:
    int allowed_;
};
}  // namespace

TEST_CASE("the run stops between phases once its lock is gone") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.website_ips = {ip("10.39.84.132")};  // 131 goes, 132 comes
    FakeEnvironment env;
    auto& lb = lb_with_131(env);
    for (const char* web : {"10.39.94.43", "10.39.94.44"}) {
        auto& h = env.fakes.hosts[ip(web)];
        h.lo = {{ip("10.39.84.131"), 32}};
        h.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
        h.files[web_record_path(1)] = "10.39.84.131\n";
    }
    auto& web43 = env.fakes.hosts[ip("10.39.94.43")];
    SUBCASE("before any change: nothing changed") {
        CountingGuard guard(0);
        const auto result = Updater(env, {}, &guard).run(cluster, false);
        CHECK(result.code() == ExitCode::db_unavailable);
        REQUIRE(result.stopped);
        CHECK(result.stopped->reason.ends_with("stopped before changing any host"));
        CHECK_FALSE(result.changed());
        CHECK(web43.lo.size() == 1);
        CHECK(lb.agent_input.empty());
    }
    SUBCASE("before the LBs: the web servers have the new IP, the LB is untouched") {
        CountingGuard guard(1);
        const auto result = Updater(env, {}, &guard).run(cluster, false);
        CHECK(result.code() == ExitCode::db_unavailable);
        CHECK(web43.lo.size() == 2);
        CHECK(lb.agent_input.empty());
    }
    SUBCASE("before step 4: the former IP stays on lo, and the run says so") {
        CountingGuard guard(2);
        const auto result = Updater(env, {}, &guard).run(cluster, false);
        CHECK(result.code() == ExitCode::db_unavailable);
        CHECK_FALSE(lb.agent_input.empty());
        CHECK(web43.lo.size() == 2);
        CHECK(result.applied[0].errors.at(0) ==
              "web 10.39.94.43: former website IPs left on lo: the run stopped first");
    }
    SUBCASE("a guard that never objects changes nothing of the run") {
        CountingGuard guard(3);
        const auto result = Updater(env, {}, &guard).run(cluster, false);
        CHECK(result.code() == ExitCode::ok);
        CHECK(web43.lo.size() == 1);
    }
}

TEST_CASE("the piranha backend: lvs.cf replaced only when it differs, then pulse reloaded") {
    FakeHostState state;
    state.programs.insert("service");
    lvsctl::testing::FakeHost host(state);
    FileBackend piranha(host, "lb 10.39.94.41", kPiranhaConfig, "serial_no = 2\n",
                        piranha_reload());
    const LbDesiredState any;
    CHECK(piranha.plan(any) ==
          std::vector<std::string>{
              "write /etc/sysconfig/ha/lvs.cf, then 'service' 'pulse' 'reload'"});
    CHECK_FALSE(piranha.website_ips());
    HostReport report;
    CHECK(piranha.apply(any, report));
    CHECK(state.files[kPiranhaConfig] == "serial_no = 2\n");
    CHECK(state.commands.back() == std::vector<std::string>{"service", "pulse", "reload"});
    CHECK(piranha.plan(any).empty());
}

namespace {
// A provider's program, as the exec: backend runs it on this node.
struct FakeProgram : ProcessRunner {
    std::vector<std::vector<std::string>> calls;
    std::string input;
    ProcessResult answer{
        0, R"({"changed": true, "errors": [], "done": ["pool web: add 10.39.84.43"]})", ""};
    ProcessResult run(const std::vector<std::string>& argv, const std::string& in) override {
        calls.push_back(argv);
        input = in;
        return answer;
    }
};
}  // namespace

TEST_CASE("the exec: backend gives the program the desired state and reads its answer") {
    FakeProgram program;
    ExecBackend exec(program, "lb 10.39.94.41", "/usr/local/bin/f5-sync");
    const auto cluster = lvsctl::testing::seed_cluster();
    const auto desired = desired_state(cluster, cluster.load_balancers[0], 30);
    CHECK(exec.plan(desired) == std::vector<std::string>{"pool web: add 10.39.84.43"});
    CHECK(program.calls.back() == std::vector<std::string>{"/usr/local/bin/f5-sync", "plan"});
    CHECK(parse_desired_state(program.input).website_ips == desired.website_ips);
    HostReport report;
    CHECK(exec.apply(desired, report));
    CHECK(program.calls.back() == std::vector<std::string>{"/usr/local/bin/f5-sync", "apply"});
    CHECK(report.done == std::vector<std::string>{"pool web: add 10.39.84.43"});

    program.answer = {1, R"({"changed": false, "errors": ["pool web: the device said no"]})", ""};
    HostReport failed;
    CHECK_FALSE(exec.apply(desired, failed));
    CHECK(failed.errors ==
          std::vector<std::string>{"lb 10.39.94.41: pool web: the device said no"});
    program.answer = {2, "not json", "f5-sync: cannot reach the device\n"};
    HostReport broken;
    CHECK_FALSE(exec.apply(desired, broken));
    CHECK(broken.errors.at(0) ==
          "lb 10.39.94.41: /usr/local/bin/f5-sync apply: exit status 2: "
          "f5-sync: cannot reach the device\n");
    CHECK_THROWS_WITH_AS(exec.plan(desired), doctest::Contains("lb 10.39.94.41"), Error);
}

TEST_CASE("primary and backup LBs both converge: the same IPVS table, each its own interface") {
    auto cluster = lvsctl::testing::dual_stack_cluster();
    cluster.load_balancers[1].vip_interface = "dummy0";  // the backup keeps its aliases off the LAN
    FakeEnvironment env;
    for (const char* lb : {"10.39.94.41", "10.39.94.42"}) {
        env.fakes.hosts[ip(lb)].agent_show = show({}, {});
        env.fakes.hosts[ip(lb)].agent_answer = kApplied;
    }
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];
    const auto result = Updater(env, {}).run(cluster, false);
    CHECK(result.code() == ExitCode::ok);
    const auto primary = parse_desired_state(env.fakes.hosts[ip("10.39.94.41")].agent_input);
    const auto backup = parse_desired_state(env.fakes.hosts[ip("10.39.94.42")].agent_input);
    CHECK(primary.interface == "eth1");
    CHECK(backup.interface == "dummy0");
    CHECK(to_json(primary).substr(to_json(primary).find("\"website_ips\"")) ==
          to_json(backup).substr(to_json(backup).find("\"website_ips\"")));  // the same table
    CHECK(primary.services.size() == 2);
}

TEST_CASE("bytes a host printed that are not UTF-8, or NUL, never break the report") {
    const auto cluster = lvsctl::testing::seed_cluster();
    UpdateResult result;
    HostPlan p;
    p.host = "lb 10.39.94.41";
    result.plan.push_back(p);
    HostReport r;
    r.host = p.host;
    r.errors.push_back(std::string("lb 10.39.94.41: lvsctl agent apply: exit status 1: \xff\xfe ") +
                       std::string(1, '\0') + " \\u0000 end");
    result.applied.push_back(r);
    const auto text = update_document(cluster, result, false, ExitCode::partial, "0", "");
    // Strict UTF-8 parse, and no NUL escape left for PostgreSQL's jsonb to refuse.
    const auto doc = nlohmann::json::parse(text);
    const auto error = doc.at("hosts").at(0).at("errors").at(0).get<std::string>();
    CHECK(error ==
          "lb 10.39.94.41: lvsctl agent apply: exit status 1: \xef\xbf\xbd\xef\xbf\xbd "
          "\xef\xbf\xbd \\u0000 end");
    CHECK(nlohmann::json::parse(error_document("bad \xc3", ExitCode::partial)).at("errors").at(0) ==
          "bad \xef\xbf\xbd");
}

TEST_CASE("the agent's deadline covers the drain it may wait for") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131"}, {"10.39.84.43", "10.39.84.44", "10.39.84.45"});
    lb.agent_answer = kApplied;
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];
    UpdateSettings settings;
    settings.drain_timeout = 300;
    CHECK(Updater(env, settings).run(cluster, false).code() == ExitCode::ok);
    CHECK(lb.extra_time == std::chrono::seconds(300));
}

TEST_CASE("status: every host read, nothing changed; a host down is named, the others shown") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131"});
    auto& web43 = env.fakes.hosts[ip("10.39.94.43")];
    web43.lo = {{ip("10.39.84.131"), 32}};
    web43.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
    web43.files[web_record_path(1)] = "10.39.84.131\n";
    // 44 is down.
    const auto hosts = gather_status(cluster, env, 4);
    REQUIRE(hosts.size() == 3);
    CHECK(hosts[0].host == "lb 10.39.94.41");
    CHECK(hosts[0].present == std::vector<IpAddress>{ip("10.39.84.131")});
    REQUIRE(hosts[0].table);
    CHECK(hosts[0].table->at(0).key == ServiceKey::fwmark_service(Family::inet, 100));
    CHECK(hosts[0].drift.empty());
    CHECK(hosts[1].host == "web 10.39.94.43");
    CHECK(hosts[1].present == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(hosts[1].drift.empty());
    REQUIRE(hosts[2].error);
    CHECK(hosts[2].error->starts_with("web 10.39.94.44: ssh root@10.39.94.44:22: connect"));
    CHECK(lb.commands.size() == 1);     // agent show only
    CHECK(web43.commands.size() == 1);  // the read only
}

namespace {

// The seed cluster's monitor, `age` seconds after its last round: 10.39.84.43 down (taken out),
// 10.39.84.44 up.
MonitorShown monitor_shown(bool current, std::int64_t age) {
    HealthRecord r;
    r.cluster_id = 1;
    r.updated = 5000;
    r.servers[ip("10.39.84.43")] = {
        Health::down, false, 32, 0, 4999, false, "connect: Connection refused", 0, 1};
    r.servers[ip("10.39.84.44")] = {Health::up, true, 32, 32, 4998, true, "", 3, 0};
    return {r, current, age};
}

}  // namespace

TEST_CASE(
    "update with the LB's monitor running: a server it took out is no drift; "
    "the monitor is reported") {
    auto cluster = lvsctl::testing::seed_cluster();
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    for (const auto* web : {"10.39.94.43", "10.39.94.44"}) {
        auto& h = env.fakes.hosts[ip(web)];
        h.lo = {{ip("10.39.84.131"), 32}};
        h.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
        h.files[web_record_path(1)] = "10.39.84.131\n";
    }
    Updater updater(env, {});

    // 10.39.84.43 is out of the kernel because the monitor took it out.
    lb.agent_show = show({"10.39.84.131"}, {"10.39.84.44"}, {monitor_shown(true, 2)});
    auto plan = updater.run(cluster, true);
    REQUIRE(plan.plan.size() == 3);
    CHECK(plan.plan[2].changes.empty());
    CHECK_FALSE(plan.pending());
    CHECK(plan.plan[2].monitored);
    REQUIRE(plan.plan[2].monitor);
    CHECK(monitor_summary(plan.plan[2].monitor) ==
          "running, last round 2 s ago: 2 real servers, 1 up, 1 down (10.39.84.43)");
    CHECK_FALSE(plan.plan[0].monitored);  // a web server

    // A monitor that stopped: its verdicts no longer hold, the agent would add the server back.
    lb.agent_show = show({"10.39.84.131"}, {"10.39.84.44"}, {monitor_shown(false, 600)});
    plan = updater.run(cluster, true);
    CHECK(plan.plan[2].changes ==
          std::vector<std::string>{"add destination 10.39.84.43:0 to FWM 100"});
    CHECK(monitor_summary(plan.plan[2].monitor) == "NOT running: its last round was 600 s ago");
    const auto doc =
        nlohmann::json::parse(update_document(cluster, plan, true, ExitCode::ok, "", ""));
    CHECK(doc["hosts"][2]["monitor"]["current"] == false);
    CHECK(doc["hosts"][2]["monitor"]["age"] == 600);
    CHECK_FALSE(doc["hosts"][0].contains("monitor"));

    // None ever ran.
    lb.agent_show = show({"10.39.84.131"});
    plan = updater.run(cluster, true);
    CHECK(plan.plan[2].monitored);
    CHECK_FALSE(plan.plan[2].monitor);
    CHECK(monitor_summary(plan.plan[2].monitor).starts_with("NOT running: no health record"));
}

TEST_CASE("status: each real server's state, the kernel's and the database's weight, its check") {
    auto cluster = lvsctl::testing::seed_cluster();
    const auto desired = desired_state(cluster, cluster.load_balancers[0], 30);
    ServiceInfo svc;
    svc.key = ServiceKey::fwmark_service(Family::inet, 100);
    svc.dests.push_back(
        DestInfo{{ip("10.39.84.44"), 0}, {IpvsForward::route, 16, 0, 0}, 0, 0, 0, {}});
    svc.dests.push_back(
        DestInfo{{ip("10.39.84.50"), 0}, {IpvsForward::route, 0, 0, 0}, 3, 0, 0, {}});
    ServiceInfo foreign;
    foreign.key = ServiceKey::fwmark_service(Family::inet, 7);
    foreign.dests.push_back(
        DestInfo{{ip("10.1.1.1"), 0}, {IpvsForward::route, 1, 0, 0}, 0, 0, 0, {}});

    const auto servers = real_servers(desired, {svc, foreign}, monitor_shown(true, 2));
    REQUIRE(servers.size() == 3);  // the foreign service's destination is not the cluster's
    CHECK(servers[0].address == ip("10.39.84.43"));
    CHECK(servers[0].state == "down");
    CHECK_FALSE(servers[0].weight);
    CHECK(servers[0].configured == 32u);
    CHECK(servers[0].checked_ago == 3);  // 1 s before the round, which was 2 s ago
    CHECK(servers[0].health->why == "connect: Connection refused");
    CHECK(servers[1].state == "up");
    CHECK(servers[1].weight == 16u);
    CHECK(servers[2].address == ip("10.39.84.50"));
    CHECK(servers[2].state == "draining");
    CHECK_FALSE(servers[2].configured);
    CHECK(servers[2].weight == 0u);

    // Without a current monitor nothing is claimed about health.
    for (const auto& m :
         {std::optional<MonitorShown>(), std::optional(monitor_shown(false, 900))}) {
        const auto plain = real_servers(desired, {svc}, m);
        CHECK(plain[0].state == "unmonitored");
        CHECK(plain[1].state == "unmonitored");
        CHECK_FALSE(plain[1].health);
    }

    // Through gather_status and --json.
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_show = show({"10.39.84.131"}, {"10.39.84.44"}, {monitor_shown(true, 2)});
    const auto hosts = gather_status(cluster, env, 4);
    REQUIRE(hosts[0].real_servers.size() == 2);
    CHECK(hosts[0].real_servers[0].state == "down");
    CHECK(hosts[0].drift.empty());
    const auto doc = nlohmann::json::parse(status_document(cluster, hosts));
    const auto& rs = doc["hosts"][0]["real_servers"];
    CHECK(rs[0]["address"] == "10.39.84.43");
    CHECK(rs[0]["state"] == "down");
    CHECK(rs[0]["weight"].is_null());
    CHECK(rs[0]["configured"] == 32);
    CHECK(rs[0]["why"] == "connect: Connection refused");
    CHECK(rs[1]["state"] == "up");
    CHECK(rs[1]["weight"] == 32);
    CHECK(doc["hosts"][0]["monitor"]["current"] == true);
}

TEST_CASE("ha = vrrp: marks first, then keepalived.conf checked and reloaded; no alias of ours") {
    const auto cluster = lvsctl::testing::dual_stack_cluster();  // a backup LB: VRRP
    REQUIRE(cluster.uses_vrrp());
    FakeHostState state;
    state.programs.insert({"service", "keepalived"});
    // The agent placed the website IP itself before the cluster used VRRP.
    state.agent_show = show({"10.39.84.131"});
    state.agent_answer = kApplied;
    lvsctl::testing::FakeHost host(state);
    std::vector<std::vector<IpAddress>> rendered;
    VrrpBackend vrrp(host, "lb 10.39.94.41", "lvsctl", [&](const std::vector<IpAddress>& ips) {
        rendered.push_back(ips);
        return std::string("vrrp_instance lvsctl_1 {}\n");
    });
    const auto desired = desired_state(cluster, cluster.load_balancers[0], 30);
    REQUIRE(desired.vrrp);
    const auto plan = vrrp.plan(desired);
    auto has = [](const std::vector<std::string>& lines, const std::string& line) {
        return std::find(lines.begin(), lines.end(), line) != lines.end();
    };
    CHECK(has(plan, "remove address 10.39.84.131 from eth1 (keepalived's from now on)"));
    CHECK(has(plan,
              "write /etc/keepalived/keepalived.conf, check it (keepalived -t), then "
              "'service' 'keepalived' 'reload'"));
    CHECK_FALSE(vrrp.website_ips());  // no keepalived.conf of ours yet
    HostReport report;
    CHECK(vrrp.apply(desired, report));
    CHECK(report.errors.empty());
    CHECK(parse_desired_state(state.agent_input).vrrp);
    CHECK(state.files[kKeepalivedConfig] ==
          vrrp_header(desired.website_ips) + "vrrp_instance lvsctl_1 {}\n");
    CHECK(rendered.back() == desired.website_ips);
    std::vector<std::string> order;
    for (const auto& argv : state.commands) {
        order.push_back(argv.size() > 2 && argv[1] == "agent" ? "agent " + argv[2] : argv[0]);
    }
    const auto at = [&](const std::string& name) {
        return std::find(order.begin(), order.end(), name) - order.begin();
    };
    CHECK(at("agent apply") < at("keepalived"));  // marked before keepalived names it
    CHECK(at("keepalived") < static_cast<long>(order.size()));
    CHECK(state.commands.back() == std::vector<std::string>{"service", "keepalived", "reload"});

    // The next run reads what keepalived.conf names; a website IP that goes keeps its mark until
    // keepalived.conf no longer names it: two agent runs, the second without it.
    state.agent_show = show({});
    VrrpBackend again(host, "lb 10.39.94.41", "lvsctl",
                      [](const std::vector<IpAddress>&) { return std::string("x\n"); });
    auto without_v6 = cluster;
    without_v6.website_ips = {ip("10.39.84.131")};
    const auto fewer = desired_state(without_v6, without_v6.load_balancers[0], 30);
    const auto plan2 = again.plan(fewer);
    CHECK(again.website_ips() == desired.website_ips);
    CHECK(has(plan2, "keepalived lets 2001:db8:84::131 go (VRRP), then its mark goes"));
    state.commands.clear();
    HostReport report2;
    CHECK(again.apply(fewer, report2));
    CHECK(std::count_if(state.commands.begin(), state.commands.end(), [](const auto& argv) {
              return argv.size() > 2 && argv[1] == "agent" && argv[2] == "apply";
          }) == 2);
    CHECK(parse_desired_state(state.agent_input).website_ips == fewer.website_ips);

    // keepalived -t refuses the file: the previous one is put back, and the run fails.
    state.programs.erase("keepalived");
    const auto before = state.files[kKeepalivedConfig];
    VrrpBackend refused(host, "lb 10.39.94.41", "lvsctl",
                        [](const std::vector<IpAddress>&) { return std::string("broken {\n"); });
    refused.plan(fewer);
    HostReport report3;
    CHECK_FALSE(refused.apply(fewer, report3));
    CHECK(state.files[kKeepalivedConfig] == before);
    REQUIRE_FALSE(report3.errors.empty());
    CHECK(report3.errors.front().find("keepalived' '--config-test'") != std::string::npos);
}

TEST_CASE("the VRRP header names the website IPs, in lines of eight, and reads back") {
    std::vector<IpAddress> ips;
    for (int i = 1; i <= 20; ++i) {
        ips.push_back(ip(("10.1.0." + std::to_string(i)).c_str()));
    }
    ips.push_back(ip("2001:db8::1"));
    const auto header = vrrp_header(ips);
    CHECK(std::count(header.begin(), header.end(), '\n') == 4);
    CHECK(parse_vrrp_header(header + "global_defs {}\n") == ips);
    CHECK(parse_vrrp_header(vrrp_header({})) == std::vector<IpAddress>{});
    CHECK_FALSE(parse_vrrp_header("global_defs {}\n"));                    // not ours
    CHECK_FALSE(parse_vrrp_header(header.substr(0, header.size() - 30)));  // cut short
    CHECK_FALSE(parse_vrrp_header("# lvsctl website IPs: 10.1.0.300\n# lvsctl website IPs end\n"));
}

TEST_CASE("status: an LB's VRRP state, keepalived and sync daemons in one line") {
    HaShown ha;
    ha.keepalived_running = true;
    CHECK(ha_summary(ha) == "keepalived running, no state recorded yet; sync daemon: none");
    ha.vrrp = VrrpState{7, "lvsctl_7", "MASTER", 150, 1000, 35};
    ha.sync_daemons = {{"master", "eth1", 7}};
    CHECK(ha_summary(ha) == "MASTER for 35 s (priority 150); sync daemon: master on eth1 (id 7)");
    ha.keepalived_running = false;
    ha.sync_daemons.push_back({"backup", "eth1", 7});
    CHECK(ha_summary(ha) ==
          "keepalived NOT running (last state MASTER, 35 s ago); sync daemon: "
          "master on eth1 (id 7), backup on eth1 (id 7)");
}

namespace {

// The addresses and weights of the destinations an LB was sent, in its first service.
std::vector<std::pair<IpAddress, std::uint32_t>> sent_destinations(const FakeHostState& lb) {
    std::vector<std::pair<IpAddress, std::uint32_t>> out;
    const auto sent = parse_desired_state(lb.agent_input);
    for (const auto& d : sent.services.at(0).destinations) {
        out.emplace_back(d.address, d.weight);
    }
    return out;
}

}  // namespace

TEST_CASE("lbs_only (server set): no web server is reached; the LB gets the new weight") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.servers[1].weight = 10;
    FakeEnvironment env;
    auto& lb = lb_with_131(env);
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];
    RecordedProgress progress;
    UpdateSettings settings;
    settings.lbs_only = true;
    settings.progress = &progress;
    Updater updater(env, settings);

    const auto plan = updater.run(cluster, true);
    CHECK(plan.lbs_only);
    REQUIRE(plan.plan.size() == 1);  // no web server's plan
    CHECK(plan.plan[0].host == "lb 10.39.94.41");
    CHECK(plan.plan[0].changes ==
          std::vector<std::string>{"set destination 10.39.84.44:0 in FWM 100"});

    const auto result = updater.run(cluster, false);
    CHECK(result.code() == ExitCode::ok);
    CHECK(result.lbs_only);
    REQUIRE(result.applied.size() == 1);
    CHECK(result.applied[0].host == "lb 10.39.94.41");
    CHECK(sent_destinations(lb) == std::vector<std::pair<IpAddress, std::uint32_t>>{
                                       {ip("10.39.84.43"), 32}, {ip("10.39.84.44"), 10}});
    CHECK(parse_desired_state(lb.agent_input).website_ips ==
          std::vector<IpAddress>{ip("10.39.84.131")});
    for (const char* web : {"10.39.94.43", "10.39.94.44"}) {
        CHECK(env.fakes.connections(ip(web)) == 0);
        CHECK(env.fakes.hosts[ip(web)].commands.empty());
    }
    CHECK(env.fakes.connections(ip("10.39.94.41")) == 2);  // once per run
    // Nothing held back: the one note says the web servers were left alone.
    CHECK(result.notes ==
          std::vector<std::string>{"the LBs only: the web servers were neither read nor changed "
                                   "(lvsctl update checks and repairs them)"});
    CHECK(progress.events == std::vector<std::string>{"reading load balancers 1", "end",
                                                      "reading load balancers 1",
                                                      "load balancers 1", "end"});
    // The LBs are the one changing phase: the lock is checked once, before them.
    CountingGuard once(1);
    CHECK(Updater(env, settings, &once).run(cluster, false).code() == ExitCode::ok);
    CountingGuard never(0);
    const auto stopped = Updater(env, settings, &never).run(cluster, false);
    CHECK(stopped.code() == ExitCode::db_unavailable);
    CHECK(stopped.stopped->reason.ends_with("stopped before changing any host"));
}

TEST_CASE(
    "lbs_only: no website IP or server the LB lacks is added; the weights of the others are") {
    auto cluster = lvsctl::testing::seed_cluster();
    cluster.website_ips.push_back(ip("10.39.84.132"));  // pending from an `ip add --no-update`
    cluster.servers.push_back(new_server_45());         // pending from a `server add --no-update`
    cluster.servers[1].weight = 10;
    FakeEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.agent_answer = kApplied;
    for (const char* web : {"10.39.94.43", "10.39.94.44", "10.39.94.45"}) {
        env.fakes.hosts[ip(web)];
    }
    UpdateSettings settings;
    settings.lbs_only = true;
    const std::string held =
        "lb 10.39.94.41: held back until lvsctl update has checked the web servers: new website "
        "IP 10.39.84.132; new server 10.39.84.45";

    SUBCASE("planned and applied without them, and the notes name them") {
        lb.agent_show = show({"10.39.84.131"});
        const auto plan = Updater(env, settings).run(cluster, true);
        REQUIRE(plan.plan.size() == 1);
        // Planned for what it will get: only the weight.
        CHECK(plan.plan[0].changes ==
              std::vector<std::string>{"set destination 10.39.84.44:0 in FWM 100"});
        REQUIRE(plan.notes.size() == 2);
        CHECK(plan.notes[1] == held);

        const auto result = Updater(env, settings).run(cluster, false);
        CHECK(result.code() == ExitCode::ok);
        CHECK(result.notes.at(1) == held);
        CHECK(parse_desired_state(lb.agent_input).website_ips ==
              std::vector<IpAddress>{ip("10.39.84.131")});
        CHECK(sent_destinations(lb) == std::vector<std::pair<IpAddress, std::uint32_t>>{
                                           {ip("10.39.84.43"), 32}, {ip("10.39.84.44"), 10}});
        CHECK(env.fakes.connections(ip("10.39.94.45")) == 0);

        // They stay pending for the next full update, which checks the web servers first.
        const auto full = Updater(env, {}).run(cluster, false);
        CHECK(full.code() == ExitCode::ok);
        CHECK_FALSE(full.lbs_only);
        CHECK(full.notes.empty());
        CHECK(parse_desired_state(lb.agent_input).website_ips ==
              std::vector<IpAddress>{ip("10.39.84.131"), ip("10.39.84.132")});
        CHECK(sent_destinations(lb).size() == 3);
        CHECK(env.fakes.hosts[ip("10.39.94.45")].lo.size() == 2);
    }
    SUBCASE("a server the LB's monitor took out is still the LB's: it is kept, not held back") {
        lb.agent_show = show({"10.39.84.131"}, {"10.39.84.44"}, {monitor_shown(true, 2)});
        const auto result = Updater(env, settings).run(cluster, false);
        CHECK(result.code() == ExitCode::ok);
        CHECK(result.notes.at(1) == held);
        std::vector<IpAddress> dests;
        for (const auto& [address, weight] : sent_destinations(lb)) {
            dests.push_back(address);
        }
        CHECK(dests == std::vector<IpAddress>{ip("10.39.84.43"), ip("10.39.84.44")});
    }
    SUBCASE("a website IP leaving the database leaves the LB; lo is the next update's") {
        cluster.website_ips = {ip("10.39.84.131")};
        cluster.servers.pop_back();
        lb.agent_show = show({"10.39.84.131", "10.39.84.139"});
        const auto result = Updater(env, settings).run(cluster, false);
        CHECK(result.code() == ExitCode::ok);
        CHECK(result.notes.size() == 1);  // nothing held back
        CHECK(parse_desired_state(lb.agent_input).website_ips ==
              std::vector<IpAddress>{ip("10.39.84.131")});
    }
}

namespace {
// The seed cluster's hosts, but its LB's backend is piranha's: it cannot tell what it has.
class PiranhaEnvironment : public FakeEnvironment {
  public:
    std::unique_ptr<LbBackend> backend(const Cluster&, const LoadBalancer&, Transport* host,
                                       const std::string& name) override {
        return std::make_unique<FileBackend>(*host, name, kPiranhaConfig, "serial_no = 1\n",
                                             piranha_reload());
    }
};
}  // namespace

TEST_CASE("lbs_only with an LB that cannot tell what it has: a full run, as update's, noted") {
    auto cluster = lvsctl::testing::seed_cluster();
    PiranhaEnvironment env;
    auto& lb = env.fakes.hosts[ip("10.39.94.41")];
    lb.programs.insert("service");
    env.fakes.hosts[ip("10.39.94.43")];
    env.fakes.hosts[ip("10.39.94.44")];
    RecordedProgress progress;
    UpdateSettings settings;
    settings.lbs_only = true;
    settings.progress = &progress;
    const auto result = Updater(env, settings).run(cluster, false);
    CHECK(result.code() == ExitCode::ok);
    CHECK_FALSE(result.lbs_only);
    REQUIRE(result.plan.size() == 3);
    CHECK(result.plan[0].host == "web 10.39.94.43");
    CHECK(env.fakes.connections(ip("10.39.94.43")) == 1);
    CHECK(env.fakes.hosts[ip("10.39.94.43")].lo.size() == 1);
    CHECK(lb.files[kPiranhaConfig] == "serial_no = 1\n");
    CHECK(result.notes ==
          std::vector<std::string>{"the web servers were read too: lb 10.39.94.41 cannot tell "
                                   "which website IPs and servers it has, so nothing new could "
                                   "be kept from it"});
    CHECK(progress.events == std::vector<std::string>{"reading load balancers 1",
                                                      "reading web servers 2",
                                                      "web servers: adding 2", "load balancers 1",
                                                      "web servers: removing 2", "end"});
}

TEST_CASE("a web server's address changes: the first 20 of each kind by name, then a count") {
    WebPlan plan;
    for (int i = 1; i <= 25; ++i) {
        plan.add.push_back(ip(fmt::format("10.40.0.{}", i).c_str()));
    }
    for (int i = 1; i <= 22; ++i) {
        plan.remove.push_back({ip(fmt::format("2001:db8:40::{:x}", i).c_str()), 128});
    }
    std::vector<std::string> lines;
    describe(plan, lines);
    REQUIRE(lines.size() == 42);
    CHECK(lines[0] == "add 10.40.0.1/32 to lo");
    CHECK(lines[19] == "add 10.40.0.20/32 to lo");
    CHECK(lines[20] == "... and 5 more website IPs added to lo");
    CHECK(lines[21] == "remove 2001:db8:40::1/128 from lo (after the LBs)");
    CHECK(lines[41] == "... and 2 more addresses removed from lo (after the LBs)");

    plan.add.resize(20);  // exactly 20: no count line
    plan.remove.clear();
    lines.clear();
    describe(plan, lines);
    CHECK(lines.size() == 20);
    CHECK(lines.back() == "add 10.40.0.20/32 to lo");
}
