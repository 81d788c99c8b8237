#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "fake_host.h"
#include "fixtures.h"
#include "lvsctl/fanout.h"
#include "lvsctl/manage/lb_step.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/transport.h"
#include "lvsctl/manage/web_step.h"

using namespace lvsctl;
using lvsctl::testing::FakeConnector;
using lvsctl::testing::FakeHost;
using lvsctl::testing::FakeHostState;
using lvsctl::testing::ip;

namespace {
const std::vector<IpAddress> kWebsite{ip("10.39.84.131"), ip("2001:db8:84::131")};

// The state of lo as docs/agent-protocol.md wants it, plus what else is there.
std::set<std::string> lo_of(const FakeHostState& s) {
    std::set<std::string> out;
    for (const auto& a : s.lo) {
        out.insert(a.address.str() + "/" + std::to_string(a.prefix));
    }
    return out;
}
}  // namespace

TEST_CASE("arguments are quoted for the remote shell, never spliced") {
    CHECK(shell_quote("lo") == "'lo'");
    CHECK(shell_quote("a'b") == "'a'\\''b'");
    CHECK(shell_quote("$(reboot)") == "'$(reboot)'");
    CHECK(shell_command({"ip", "-batch", "-"}) == "'ip' '-batch' '-'");
}

TEST_CASE("lo as ip -o addr prints it, the sysctls and the record are read back") {
    const std::string out =
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        "1: lo    inet 10.39.84.131/32 scope global lo\\       valid_lft forever preferred_lft "
        "forever\n"
        "1: lo    inet6 2001:db8::131/128 scope global \\       valid_lft forever preferred_lft "
        "forever\n"
        "1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n"
        "@@lvsctl-sysctl\n1\n2\n10.39.84.131\n";
    const auto seen = parse_web_observed(out, "web 10.39.94.43");
    REQUIRE(seen.lo.size() == 4);
    CHECK(seen.lo[0].address == ip("127.0.0.1"));
    CHECK(seen.lo[0].prefix == 8);
    CHECK(seen.lo[2].address == ip("2001:db8::131"));
    CHECK(seen.lo[2].is_host_route());
    CHECK(seen.arp_ignore == 1);
    CHECK(seen.arp_announce == 2);
    CHECK(seen.owned == std::vector<IpAddress>{ip("10.39.84.131")});

    CHECK_THROWS_WITH(parse_web_observed("1: lo inet 127.0.0.1/8\n@@lvsctl-sysctl\n1\n", "web x"),
                      doctest::Contains("web x: reading lo: the output is cut short"));
    CHECK_THROWS_WITH(parse_web_observed("@@lvsctl-sysctl\n1\n2\nrm -rf /\n", "web x"),
                      doctest::Contains("web x: reading lo: the record: not an address"));
    CHECK_THROWS_WITH(parse_web_observed("1: lo inet 10.1.1/32\n@@lvsctl-sysctl\n1\n2\n", "web x"),
                      doctest::Contains("not an address: 10.1.1/32"));
}

TEST_CASE("a record whose last write was cut short: its last line is not read, nor appended to") {
    const std::string head = "1: lo inet 127.0.0.1/8\n@@lvsctl-sysctl\n1\n2\n";
    const auto whole = parse_web_observed(head + "10.39.84.131\n2001:db8:84::131\n", "web x");
    CHECK(whole.record_appendable);
    CHECK(whole.owned.size() == 2);
    // "10.39.84.13" is what is left of "10.39.84.131": an address, but not one lvsctl wrote.
    const auto cut = parse_web_observed(head + "2001:db8:84::131\n10.39.84.13", "web x");
    CHECK_FALSE(cut.record_appendable);
    CHECK(cut.owned == std::vector<IpAddress>{ip("2001:db8:84::131")});
    const auto garbage =
        parse_web_observed(head + "10.39.84.131\n" + std::string(2, '\0'), "web x");
    CHECK_FALSE(garbage.record_appendable);
    CHECK(garbage.owned == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(parse_web_observed(head, "web x").record_appendable);  // no record: appended to
}

TEST_CASE("the web server plan") {
    WebObserved seen;
    seen.lo = {{ip("127.0.0.1"), 8}, {ip("::1"), 128}};
    SUBCASE("from empty: sysctls, the record grown first, every website IP added") {
        const auto plan = plan_web(kWebsite, seen);
        CHECK(plan.sysctls.size() == 2);
        CHECK(plan.add == kWebsite);
        CHECK(plan.remove.empty());
        CHECK(plan.appended() == kWebsite);  // no record yet: appended to
        CHECK(plan.record_appends_add);      // held once, in `add`
        CHECK(plan.record_append.empty());
        CHECK_FALSE(plan.record_before);
        CHECK(plan.record_size == kWebsite.size());
        CHECK_FALSE(plan.record_after);
        CHECK(ip_batch(plan.add, {}, "lo") ==
              "address add 10.39.84.131/32 dev lo\naddress add 2001:db8:84::131/128 dev lo\n");
    }
    seen.arp_ignore = 1;
    seen.arp_announce = 2;
    seen.lo.push_back({ip("10.39.84.131"), 32});
    seen.lo.push_back({ip("2001:db8:84::131"), 128});
    seen.lo.push_back({ip("192.0.2.9"), 32});  // someone else's
    seen.owned = kWebsite;
    SUBCASE("converged: nothing to do") {
        CHECK(plan_web(kWebsite, seen).converged());
    }
    SUBCASE("an IP removed: only ours leaves, the record shrinks after") {
        const auto plan = plan_web({ip("10.39.84.131")}, seen);
        CHECK(plan.add.empty());
        REQUIRE(plan.remove.size() == 1);
        CHECK(plan.remove[0].address == ip("2001:db8:84::131"));
        CHECK_FALSE(plan.record_grows());
        REQUIRE(plan.record_after);
        CHECK(*plan.record_after == std::vector<IpAddress>{ip("10.39.84.131")});
    }
    SUBCASE("an unrelated host route that becomes a website IP is taken over") {
        const auto plan = plan_web({ip("10.39.84.131"), ip("192.0.2.9")}, seen);
        CHECK(plan.add.empty());
        CHECK(plan.appended() == std::vector<IpAddress>{ip("192.0.2.9")});
        CHECK_FALSE(plan.record_appends_add);  // a line for what is not added
        CHECK(plan.record_size == 3);
        seen.record_appendable = false;
        const auto rewrite = plan_web({ip("10.39.84.131"), ip("192.0.2.9")}, seen);
        REQUIRE(rewrite.record_before);
        CHECK(std::count(rewrite.record_before->begin(), rewrite.record_before->end(),
                         ip("192.0.2.9")) == 1);
    }
    SUBCASE("an IP added: its line is appended to the record, which is not rewritten") {
        auto more = kWebsite;
        more.push_back(ip("10.39.84.200"));
        const auto plan = plan_web(more, seen);
        CHECK(plan.add == std::vector<IpAddress>{ip("10.39.84.200")});
        CHECK_FALSE(plan.record_before);  // not held: only its size is said
        CHECK(plan.record_size == 3);
        CHECK(plan.appended() == std::vector<IpAddress>{ip("10.39.84.200")});
        seen.record_appendable = false;
        const auto rewrite = plan_web(more, seen);
        CHECK(rewrite.appended().empty());
        REQUIRE(rewrite.record_before);
        CHECK(rewrite.record_before->size() == 3);
        CHECK(rewrite.record_size == 3);
    }
    SUBCASE("a wrong sysctl alone is set alone") {
        seen.arp_announce = 0;
        const auto plan = plan_web(kWebsite, seen);
        REQUIRE(plan.sysctls.size() == 1);
        CHECK(plan.sysctls[0] == std::pair<std::string, int>{"net.ipv4.conf.all.arp_announce", 2});
    }
}

TEST_CASE("a web server converges, and a second run runs no changing command") {
    FakeHostState state;
    state.lo = {{ip("127.0.0.1"), 8}, {ip("192.0.2.9"), 32}};
    {
        FakeHost host(state);
        WebServerStep step(host, "web 10.39.94.43", 7, kWebsite);
        step.observe();
        HostReport report;
        CHECK(step.add(report));
        CHECK(step.remove(report));
        CHECK(report.errors.empty());
        CHECK(host.changing_commands() == 2);  // sysctl; the record and ip -batch in one
    }
    CHECK(lo_of(state) == std::set<std::string>{"127.0.0.1/8", "192.0.2.9/32", "10.39.84.131/32",
                                                "2001:db8:84::131/128"});
    CHECK(state.sysctls["net.ipv4.conf.all.arp_ignore"] == 1);
    CHECK(state.sysctls["net.ipv4.conf.all.arp_announce"] == 2);
    CHECK(state.files[web_record_path(7)] == "10.39.84.131\n2001:db8:84::131\n");

    FakeHost again(state);
    WebServerStep second(again, "web 10.39.94.43", 7, kWebsite);
    CHECK(second.observe().converged());
    HostReport report;
    CHECK(second.add(report));
    CHECK(second.remove(report));
    CHECK(again.changing_commands() == 0);
    CHECK(report.done.empty());

    FakeHost third(state);
    WebServerStep removal(third, "web 10.39.94.43", 7, {ip("10.39.84.131")});
    removal.observe();
    HostReport r3;
    CHECK(removal.add(r3));
    CHECK(removal.remove(r3));
    CHECK(lo_of(state) == std::set<std::string>{"127.0.0.1/8", "192.0.2.9/32", "10.39.84.131/32"});
    CHECK(state.files[web_record_path(7)] == "10.39.84.131\n");
    CHECK(third.changing_commands() == 2);  // ip -batch, record

    // More IPs: appended to the record, which is read back as lvsctl's own.
    FakeHost fourth(state);
    WebServerStep grow(fourth, "web 10.39.94.43", 7,
                       {ip("10.39.84.131"), ip("2001:db8:84::131"), ip("10.39.84.2")});
    grow.observe();
    HostReport r4;
    CHECK(grow.add(r4));
    CHECK(grow.remove(r4));
    CHECK(state.files[web_record_path(7)] == "10.39.84.131\n10.39.84.2\n2001:db8:84::131\n");
    CHECK(fourth.changing_commands() == 1);  // the record and ip -batch in one
    FakeHost fifth(state);
    WebServerStep shrink(fifth, "web 10.39.94.43", 7, {ip("10.39.84.2")});
    shrink.observe();
    HostReport r5;
    CHECK(shrink.add(r5));
    CHECK(shrink.remove(r5));
    CHECK(lo_of(state) == std::set<std::string>{"127.0.0.1/8", "192.0.2.9/32", "10.39.84.2/32"});
    CHECK(state.files[web_record_path(7)] == "10.39.84.2\n");
}

TEST_CASE("a refused batch line is named with the host and the address") {
    FakeHostState state;
    state.sysctls = {{"net.ipv4.conf.all.arp_ignore", 1}, {"net.ipv4.conf.all.arp_announce", 2}};
    FakeHost host(state);
    WebServerStep step(host, "web 10.39.94.43", 7, kWebsite);
    step.observe();
    // Someone adds one of them between our read and our change.
    state.lo.push_back({ip("2001:db8:84::131"), 128});
    HostReport report;
    CHECK_FALSE(step.add(report));
    REQUIRE(report.errors.size() == 1);
    CHECK(
        report.errors[0] ==
        "web 10.39.94.43: add 2001:db8:84::131/128 to lo: Error: ipv4: Address already assigned.");
    CHECK(report.done.back() == "add 10.39.84.131/32 to lo");
}

TEST_CASE("fan-out: every host once, never more than `parallel` at a time") {
    std::atomic<int> running{0}, most{0};
    std::vector<int> calls(40, 0);
    fan_out(calls.size(), 4, [&](std::size_t i) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++calls[i];
        --running;
    });
    CHECK(std::all_of(calls.begin(), calls.end(), [](int c) { return c == 1; }));
    CHECK(most.load() <= 4);
    CHECK(most.load() >= 2);
}

TEST_CASE("one web server down: the others converge, the run says partial and names it") {
    FakeConnector connector;
    std::vector<WebTarget> targets;
    for (const char* a : {"10.39.94.43", "10.39.94.44", "10.39.94.45", "10.39.94.46"}) {
        targets.push_back({std::string("web ") + a, ip(a), 22});
        connector.hosts[ip(a)];
    }
    connector.hosts.erase(ip("10.39.94.44"));
    const auto reports = deploy_web_servers(connector, targets, 7, kWebsite, 2);
    REQUIRE(reports.size() == 4);
    CHECK_FALSE(reports[1].ok());
    CHECK(reports[1].failure == ExitCode::unreachable);
    CHECK(reports[1].errors[0] ==
          "web 10.39.94.44: ssh root@10.39.94.44:22: connect: Connection refused");
    for (const std::size_t i : {0U, 2U, 3U}) {
        CHECK(reports[i].ok());
        CHECK(lo_of(connector.hosts[targets[i].address]).size() == 2);
    }
    CHECK(exit_code(reports) == ExitCode::partial);

    connector.refuse[ip("10.39.94.44")] = ExitCode::permission;
    const auto refused = deploy_web_servers(connector, targets, 7, kWebsite, 2);
    CHECK(exit_code(refused) == ExitCode::permission);
    for (const std::size_t i : {0U, 2U, 3U}) {
        CHECK(refused[i].changing_commands == 0);
    }
}

TEST_CASE("the LB step: the agent gets the desired state, a config is replaced only on change") {
    FakeHostState state;
    state.agent_answer = R"({"changed": true, "errors": [], "done": ["add service FWM 100"]})";
    FakeHost host(state);
    LbStep lb(host, "lb 10.39.94.41");
    const auto cluster = lvsctl::testing::seed_cluster();
    const auto desired = desired_state(cluster, cluster.load_balancers[0], 30);
    HostReport report;
    CHECK(lb.apply_agent("lvsctl", desired, report));
    CHECK(report.done == std::vector<std::string>{"add service FWM 100"});
    CHECK(parse_desired_state(state.agent_input).fwmark == desired.fwmark);
    CHECK(state.commands.back() == std::vector<std::string>{"lvsctl", "agent", "apply"});

    state.agent_answer =
        R"({"changed": false, "errors": ["add destination 10.39.84.45:0 to FWM 100: No such service"]})";
    state.agent_status = 71;
    HostReport failed;
    CHECK_FALSE(lb.apply_agent("/usr/local/bin/lvsctl", desired, failed));
    CHECK(failed.errors ==
          std::vector<std::string>{
              "lb 10.39.94.41: add destination 10.39.84.45:0 to FWM 100: No such service"});
    state.agent_answer = "Segmentation fault";
    HostReport garbled;
    CHECK_FALSE(lb.apply_agent("lvsctl", desired, garbled));
    CHECK_THROWS_AS(lb.apply_agent("lvsctl; reboot", desired, garbled), Error);

    HostReport missing;
    CHECK_FALSE(lb.install("/etc/sysconfig/ha/lvs.cf", "serial_no = 1\n",
                           {"service", "pulse", "reload"}, missing));
    CHECK(missing.errors.back() ==
          "lb 10.39.94.41: 'service' 'pulse' 'reload': exit status 127: "
          "sh: 1: service: not found\n");
    CHECK_FALSE(state.files.contains("/etc/sysconfig/ha/lvs.cf"));  // as it was: next run retries
    state.programs.insert("service");
    HostReport installed;
    CHECK(lb.install("/etc/sysconfig/ha/lvs.cf", "serial_no = 1\n", {"service", "pulse", "reload"},
                     installed));
    CHECK(state.files["/etc/sysconfig/ha/lvs.cf"] == "serial_no = 1\n");
    CHECK(installed.done.size() == 2);
    CHECK(host.changing_commands() == 5);
    HostReport same;
    CHECK(lb.install("/etc/sysconfig/ha/lvs.cf", "serial_no = 1\n", {"service", "pulse", "reload"},
                     same));
    CHECK(same.done.empty());
    CHECK(host.changing_commands() == 5);
}

TEST_CASE("the agent's answer is read strictly where it matters") {
    const auto a = parse_agent_answer(R"({"changed": true, "errors": [], "extra": 1})", "lb x");
    CHECK(a.changed);
    CHECK_THROWS_WITH(parse_agent_answer(R"({"errors": []})", "lb x"),
                      doctest::Contains("lb x: the agent's answer is not its JSON report"));
    CHECK_THROWS_AS(parse_agent_answer(R"({"changed": "yes", "errors": []})", "lb x"), Error);
}
