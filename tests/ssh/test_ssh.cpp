// Propagation against real sshd hosts: run by tests/ssh/sshd-hosts, which starts one sshd per
// network namespace and passes them in LVSCTL_TEST_SSH_* (see that script). Each case names the
// hosts it uses; a case that breaks a host (stop, rekey, freeze) repairs it before it ends.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "lvsctl/manage/lb_step.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/web_step.h"
#include "propagation/ssh.h"
#include "shell.h"

using namespace lvsctl;

namespace {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    REQUIRE_MESSAGE(value != nullptr, name << " is not set: run under tests/ssh/sshd-hosts");
    return value;
}

struct TestHost {
    int index = 0;
    std::string netns;
    IpAddress v4, v6;
};

std::vector<TestHost> test_hosts() {
    std::ifstream in(env("LVSCTL_TEST_SSH_HOSTS"));
    std::vector<TestHost> out;
    TestHost h;
    std::string v4, v6;
    while (in >> h.index >> h.netns >> v4 >> v6) {
        h.v4 = *IpAddress::parse(v4);
        h.v6 = *IpAddress::parse(v6);
        out.push_back(h);
    }
    return out;
}

// A shell command line on this side (the harness's control command, ip -n); it must succeed.
std::string sh(const std::string& command) {
    return lvsctl::testing::shell(command);
}

std::string ctl(const TestHost& h, const std::string& args) {
    return sh(env("LVSCTL_TEST_SSH_CTL") + " " + args.substr(0, args.find(' ')) + " " +
              std::to_string(h.index) +
              (args.find(' ') == std::string::npos ? "" : args.substr(args.find(' '))));
}

// The website IPs (/32, /128) and other global addresses on host h's lo, read with ip -n.
std::set<std::string> lo_of(const TestHost& h) {
    std::set<std::string> out;
    std::istringstream in(sh("ip -n " + h.netns + " -o addr show dev lo scope global"));
    for (std::string line; std::getline(in, line);) {
        std::istringstream w(line);
        std::string idx, dev, family, address;
        w >> idx >> dev >> family >> address;
        out.insert(address);
    }
    return out;
}

propagation::SshOptions options() {
    propagation::SshOptions o;
    o.identity = env("LVSCTL_TEST_SSH_IDENTITY");
    o.known_hosts = env("LVSCTL_TEST_SSH_KNOWN_HOSTS");
    o.timeout = std::chrono::seconds(5);
    return o;
}

std::vector<WebTarget> targets(const std::vector<TestHost>& hosts, bool v6 = false) {
    std::vector<WebTarget> out;
    for (const auto& h : hosts) {
        const auto& a = v6 ? h.v6 : h.v4;
        out.push_back({"web " + a.str(), a, 22});
    }
    return out;
}

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
    std::vector<IpAddress> out;
    for (const auto* t : texts) {
        out.push_back(*IpAddress::parse(t));
    }
    return out;
}

std::size_t changing(const std::vector<HostReport>& reports) {
    std::size_t n = 0;
    for (const auto& r : reports) {
        n += r.changing_commands;
    }
    return n;
}

std::string errors(const std::vector<HostReport>& reports) {
    std::string out;
    for (const auto& r : reports) {
        for (const auto& e : r.errors) {
            out += e + "\n";
        }
    }
    return out;
}

}  // namespace

TEST_CASE("website IPs onto web servers: from empty, no-op, add and remove, IPv6") {
    const auto all = test_hosts();
    REQUIRE(all.size() >= 4);
    const std::vector<TestHost> hosts(all.begin(), all.begin() + 3);
    propagation::SshConnector ssh(options());
    // Someone else's address on host 1's lo: never touched.
    ctl(hosts[0], "exec ip addr add 192.0.2.9/32 dev lo");

    const auto website = ips({"10.39.84.131", "10.39.84.132", "2001:db8:84::131"});
    auto reports = deploy_web_servers(ssh, targets(hosts), 11, website, 2);
    INFO(errors(reports));
    CHECK(exit_code(reports) == ExitCode::ok);
    for (const auto& h : hosts) {
        auto want =
            std::set<std::string>{"10.39.84.131/32", "10.39.84.132/32", "2001:db8:84::131/128"};
        if (h.index == hosts[0].index) {
            want.insert("192.0.2.9/32");
        }
        CHECK(lo_of(h) == want);
        CHECK(sh("ip netns exec " + h.netns +
                 " sysctl -n net.ipv4.conf.all.arp_ignore "
                 "net.ipv4.conf.all.arp_announce") == "1\n2\n");
        CHECK(ctl(h, "exec cat /var/lib/lvsctl/lo-cluster-11.ips") ==
              "10.39.84.131\n10.39.84.132\n2001:db8:84::131\n");
        CHECK(ctl(h, "exec stat -c %a /var/lib/lvsctl/lo-cluster-11.ips") == "644\n");
    }
    CHECK(changing(reports) == 2 * 3);  // sysctl; record and ip -batch in one, on each

    // A second run: nothing to do, not one changing command on any host.
    reports = deploy_web_servers(ssh, targets(hosts), 11, website, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(changing(reports) == 0);

    // One more: its line is appended to the record, which is not rewritten.
    const auto record = [&] { return ctl(hosts[2], "exec cat /var/lib/lvsctl/lo-cluster-11.ips"); };
    auto more = website;
    more.push_back(ips({"10.39.84.140"})[0]);
    reports = deploy_web_servers(ssh, targets(hosts), 11, more, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(changing(reports) == 3);
    CHECK(record() == "10.39.84.131\n10.39.84.132\n2001:db8:84::131\n10.39.84.140\n");
    // A write cut short (the host crashed while appending "10.39.84.14\n"): the torn line is not
    // taken for lvsctl's, so 10.39.84.1, someone else's, stays; the next change rewrites it all.
    ctl(hosts[2], "exec sh -c 'printf 10.39.84.1 >> /var/lib/lvsctl/lo-cluster-11.ips'");
    ctl(hosts[2], "exec ip addr add 10.39.84.1/32 dev lo");
    reports = deploy_web_servers(ssh, targets(hosts), 11, more, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(changing(reports) == 0);
    CHECK(lo_of(hosts[2]).contains("10.39.84.1/32"));
    reports = deploy_web_servers(ssh, targets(hosts), 11, website, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(record() == "10.39.84.131\n10.39.84.132\n2001:db8:84::131\n");
    CHECK(lo_of(hosts[2]).contains("10.39.84.1/32"));
    CHECK_FALSE(lo_of(hosts[2]).contains("10.39.84.140/32"));
    ctl(hosts[2], "exec ip addr del 10.39.84.1/32 dev lo");

    // Some added, some removed; over IPv6 this time.
    const auto next = ips({"10.39.84.132", "10.39.84.133", "2001:db8:84::132"});
    reports = deploy_web_servers(ssh, targets(hosts, true), 11, next, 2);
    INFO(errors(reports));
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(lo_of(hosts[1]) ==
          std::set<std::string>{"10.39.84.132/32", "10.39.84.133/32", "2001:db8:84::132/128"});
    CHECK(lo_of(hosts[0]).contains("192.0.2.9/32"));
    CHECK(ctl(hosts[2], "exec cat /var/lib/lvsctl/lo-cluster-11.ips") ==
          "10.39.84.132\n10.39.84.133\n2001:db8:84::132\n");

    // Another cluster's IPs on the same servers are not this cluster's to remove.
    // (20 of them: a record written by dd, where one of a few lines is written by the shell.)
    std::vector<IpAddress> other;
    std::string other_record;
    std::set<std::string> other_lo;
    for (int i = 1; i <= 20; ++i) {
        const auto a = "10.77.0." + std::to_string(i);
        other.push_back(*IpAddress::parse(a));
        other_lo.insert(a + "/32");
    }
    for (const auto& a : other) {  // the record in the order IpAddress sorts
        other_record += a.str() + "\n";
    }
    reports = deploy_web_servers(ssh, targets(hosts), 12, other, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(ctl(hosts[1], "exec cat /var/lib/lvsctl/lo-cluster-12.ips") == other_record);
    reports = deploy_web_servers(ssh, targets(hosts), 11, {}, 2);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(lo_of(hosts[1]) == other_lo);
    other_lo.insert("192.0.2.9/32");
    CHECK(lo_of(hosts[0]) == other_lo);
    reports = deploy_web_servers(ssh, targets(hosts), 12, {}, 2);
    CHECK(lo_of(hosts[1]).empty());
}

TEST_CASE("a host whose sshd is down: the others converge, exit 3, the host named") {
    const auto hosts = test_hosts();
    const std::vector<TestHost> three(hosts.begin(), hosts.begin() + 3);
    propagation::SshConnector ssh(options());
    ctl(three[1], "stop");
    const auto website = ips({"10.39.85.1"});
    auto reports = deploy_web_servers(ssh, targets(three), 21, website, 3);
    ctl(three[1], "start");
    CHECK(exit_code(reports) == ExitCode::partial);
    CHECK(reports[1].failure == ExitCode::unreachable);
    REQUIRE(reports[1].errors.size() == 1);
    CHECK(reports[1].errors[0].starts_with("web " + three[1].v4.str() + ": ssh root@" +
                                           three[1].v4.str() + ":22: connect:"));
    CHECK(lo_of(three[0]).contains("10.39.85.1/32"));
    CHECK(lo_of(three[2]).contains("10.39.85.1/32"));
    CHECK_FALSE(lo_of(three[1]).contains("10.39.85.1/32"));
    // Back up: the next run converges it, and only it changes.
    reports = deploy_web_servers(ssh, targets(three), 21, website, 3);
    CHECK(exit_code(reports) == ExitCode::ok);
    CHECK(lo_of(three[1]).contains("10.39.85.1/32"));
    CHECK(reports[0].changing_commands == 0);
    CHECK(reports[1].changing_commands > 0);
    deploy_web_servers(ssh, targets(three), 21, {}, 3);
}

TEST_CASE("refused hosts: a changed host key, an unknown one, a refused key: exit 77, untouched") {
    const auto hosts = test_hosts();
    const auto& h = hosts[3];
    propagation::SshConnector ssh(options());
    const auto website = ips({"10.39.86.1"});

    SUBCASE("a changed host key") {
        ctl(h, "rekey");
        const auto reports = deploy_web_servers(ssh, targets({h}), 31, website, 1);
        CHECK(exit_code(reports) == ExitCode::permission);
        REQUIRE_FALSE(reports[0].errors.empty());
        CHECK(reports[0].errors[0].find("the host key differs from the one in") !=
              std::string::npos);
        CHECK(lo_of(h).empty());
    }
    SUBCASE("a host not in known_hosts") {
        auto o = options();
        o.known_hosts = env("LVSCTL_TEST_SSH_DIR") + "/empty_known_hosts";
        std::ofstream(o.known_hosts).close();
        propagation::SshConnector strict(o);
        const auto reports = deploy_web_servers(strict, targets({h}), 31, website, 1);
        CHECK(exit_code(reports) == ExitCode::permission);
        CHECK(reports[0].errors[0].find("the host key is not in") != std::string::npos);
        CHECK(lo_of(h).empty());
    }
    SUBCASE("authentication refused") {
        const auto& first = hosts[0];  // host 4's key may be changed by now
        auto o = options();
        o.identity = env("LVSCTL_TEST_SSH_WRONG_IDENTITY");
        propagation::SshConnector wrong(o);
        const auto reports = deploy_web_servers(wrong, targets({first}), 31, website, 1);
        CHECK(exit_code(reports) == ExitCode::permission);
        CHECK(reports[0].errors[0].find("public-key authentication refused") != std::string::npos);
        CHECK_FALSE(lo_of(first).contains("10.39.86.1/32"));
    }
}

TEST_CASE("a host that hangs times out; the others are not held up") {
    const auto hosts = test_hosts();
    const std::vector<TestHost> two{hosts[0], hosts[2]};
    auto o = options();
    o.timeout = std::chrono::seconds(2);
    propagation::SshConnector ssh(o);
    ctl(two[0], "freeze");
    const auto start = std::chrono::steady_clock::now();
    const auto reports = deploy_web_servers(ssh, targets(two), 41, ips({"10.39.87.1"}), 2);
    const auto took = std::chrono::steady_clock::now() - start;
    ctl(two[0], "thaw");
    CHECK(exit_code(reports) == ExitCode::partial);
    CHECK(reports[0].failure == ExitCode::unreachable);
    CHECK(reports[1].ok());
    CHECK(took < std::chrono::seconds(15));
    CHECK(lo_of(two[1]).contains("10.39.87.1/32"));
    deploy_web_servers(ssh, targets(hosts), 41, {}, 4);
}

TEST_CASE("the LB step over SSH: the agent's input and answer, a config replaced atomically") {
    const auto hosts = test_hosts();
    const auto& h = hosts[2];
    propagation::SshConnector ssh(options());
    auto host = ssh.connect(h.v4, 22);
    LbStep lb(*host, "lb " + h.v4.str());

    // A stand-in agent (the real one needs IPVS, tested in UML): keeps its input, answers.
    const auto agent = env("LVSCTL_TEST_SSH_DIR") + "/fake-agent";
    {
        std::ofstream script(agent);
        script
            << "#!/bin/sh\ncat > /var/lib/lvsctl/agent-input.json\n"
               "echo '{\"changed\": true, \"errors\": [], \"done\": [\"add service FWM 100\"]}'\n";
    }
    ::chmod(agent.c_str(), 0755);
    const auto cluster = lvsctl::testing::seed_cluster();
    auto state = desired_state(cluster, cluster.load_balancers[0], 30);
    state.serial = 3;
    HostReport report;
    CHECK(lb.apply_agent(agent, state, report));
    CHECK(report.done == std::vector<std::string>{"add service FWM 100"});
    CHECK(parse_desired_state(ctl(h, "exec cat /var/lib/lvsctl/agent-input.json")).serial == 3);

    // Mode kept, content exact, reload run once, and not again when nothing changed.
    ctl(h, "exec sh -c 'echo old > /var/lib/lvsctl/lvs.cf && chmod 600 /var/lib/lvsctl/lvs.cf'");
    const std::vector<std::string> reload{"sh", "-c", "echo x >> /var/lib/lvsctl/reloads"};
    HostReport installed;
    CHECK(lb.install("/var/lib/lvsctl/lvs.cf", "serial_no = 3\n", reload, installed));
    CHECK(ctl(h, "exec cat /var/lib/lvsctl/lvs.cf") == "serial_no = 3\n");
    CHECK(ctl(h, "exec stat -c %a /var/lib/lvsctl/lvs.cf") == "600\n");
    CHECK(lb.install("/var/lib/lvsctl/lvs.cf", "serial_no = 3\n", reload, installed));
    CHECK(ctl(h, "exec cat /var/lib/lvsctl/reloads") == "x\n");
    CHECK(ctl(h, "exec sh -c 'ls -a /var/lib/lvsctl | grep -c lvsctl || true'") == "0\n");

    // A new file gets the mode asked for; content beyond dd's block size arrives whole.
    std::string big;
    for (int i = 0; big.size() < 200000; ++i) {
        big += "line " + std::to_string(i) + "\n";
    }
    upload_atomically(*host, "lb", "/var/lib/lvsctl/new/keepalived.conf", big, 0640);
    CHECK(ctl(h, "exec stat -c %a /var/lib/lvsctl/new/keepalived.conf") == "640\n");
    CHECK(ctl(h, "exec cat /var/lib/lvsctl/new/keepalived.conf") == big);

    // A reload that fails puts the old file back, so the next run tries again.
    HostReport failed;
    CHECK_FALSE(lb.install("/var/lib/lvsctl/lvs.cf", "serial_no = 4\n", {"false"}, failed));
    CHECK(ctl(h, "exec cat /var/lib/lvsctl/lvs.cf") == "serial_no = 3\n");
}

TEST_CASE("the real agent over SSH: a host whose kernel lacks IPVS is an error naming the LB") {
    const auto hosts = test_hosts();
    const auto& h = hosts[1];
    propagation::SshConnector ssh(options());
    auto host = ssh.connect(h.v4, 22);
    LbStep lb(*host, "lb " + h.v4.str());
    const auto cluster = lvsctl::testing::seed_cluster();
    auto state = desired_state(cluster, cluster.load_balancers[0], 30);
    state.interface = "eth0";  // the test host's
    HostReport report;
    CHECK_FALSE(lb.apply_agent(LVSCTL_PROGRAM, state, report));
    REQUIRE(report.errors.size() == 1);
    INFO(report.errors[0]);
    CHECK(report.errors[0].starts_with("lb " + h.v4.str() + ": " + LVSCTL_PROGRAM +
                                       " agent apply: exit status 71: "));
    CHECK(report.errors[0].find("no generic netlink family IPVS") != std::string::npos);

    HostReport missing;
    CHECK_FALSE(lb.apply_agent("/nonexistent/lvsctl", state, missing));
    CHECK(missing.errors.at(0).find("the program is not on the LB (--agent)") != std::string::npos);
}

TEST_CASE(
    "a command that exits without reading its input: its status and errors, not a lost host") {
    const auto hosts = test_hosts();
    propagation::SshConnector ssh(options());
    auto host = ssh.connect(hosts[0].v4, 22);
    // 4 MB it never reads: the channel closes while lvsctl is still writing, with the error
    // output not read yet. Many times, to meet every order of close, EOF and unread output.
    const std::string input(4 << 20, 'x');
    for (int i = 0; i < 20; ++i) {
        CAPTURE(i);
        const auto result = host->run({"sh", "-c", "echo refused >&2; exit 3"}, input);
        CHECK(result.status == 3);
        CHECK(result.err == "refused\n");
    }
    CHECK(host->run({"true"}).status == 0);  // the session is still good
}

TEST_CASE("--timeout bounds a command that never reads its input, and the host kills it") {
    const auto hosts = test_hosts();
    auto o = options();
    o.timeout = std::chrono::seconds(2);
    propagation::SshConnector ssh(o);
    auto host = ssh.connect(hosts[0].v4, 22);
    ctl(hosts[0], "exec rm -f /var/lib/lvsctl/stuck.pid");
    // More than the channel's window: the writer has to wait for a reader that never comes.
    const std::string input(8 << 20, 'x');
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH_AS(
        host->run({"sh", "-c", "echo $$ > /var/lib/lvsctl/stuck.pid; exec sleep 60"}, input),
        doctest::Contains("sh did not finish within 2 s"), Error);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    // The command is gone from the host, not left running (the PID namespace is shared here).
    const auto pid = ctl(hosts[0], "exec cat /var/lib/lvsctl/stuck.pid");
    REQUIRE_FALSE(pid.empty());
    const auto proc = "/proc/" + pid.substr(0, pid.find('\n'));
    for (int i = 0; i < 100 && std::filesystem::exists(proc); ++i) {
        ::usleep(100 * 1000);
    }
    CHECK_FALSE(std::filesystem::exists(proc));
}

TEST_CASE("an --ssh-identity that is not a usable key is a configuration error, before any host") {
    auto o = options();
    o.identity = env("LVSCTL_TEST_SSH_DIR") + "/no-such-key";
    try {
        propagation::SshConnector ssh(o);
        FAIL("a missing identity must be refused when the connector is made");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::config);
        CHECK(std::string(e.what()).find("--ssh-identity") != std::string::npos);
    }
}
