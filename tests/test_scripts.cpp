// The scripts lvsctl runs on web servers (lvsctl/manage/scripts/*.sh), run for real by this
// machine's sh through WebServerStep, with stubs of `ip` and `sysctl` first on PATH: the stub ip
// keeps lo's addresses in a file and answers as iproute2 does (`-br` listing, `-force -batch`
// with "Command failed -:N" for a refused line); the stub sysctl only logs. The record is real.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fixtures.h"
#include "local_host.h"
#include "lvsctl/manage/web_step.h"

using namespace lvsctl;
using lvsctl::testing::ip;
using lvsctl::testing::LocalHost;
using lvsctl::testing::read_file;
using lvsctl::testing::TempDir;

namespace {

constexpr const char* kStubIp = R"(#!/bin/sh
state=$LVSCTL_TEST_LO
case "$*" in
"-br addr show dev lo")
    printf 'lo               UNKNOWN        127.0.0.1/8'
    while read -r a; do printf ' %s' "$a"; done <"$state"
    printf ' ::1/128\n' ;;
"-force -batch -")
    n=0 rc=0
    while read -r _ verb a _ _; do
        n=$((n + 1))
        if [ "$verb" = add ]; then
            if grep -qxF "$a" "$state"; then
                echo "Error: ipv4: Address already assigned." >&2
                echo "Command failed -:$n" >&2
                rc=1
            else
                echo "$a" >>"$state"
            fi
        elif grep -qxF "$a" "$state"; then
            grep -vxF "$a" "$state" >"$state.new" || true
            mv "$state.new" "$state"
        else
            echo "Error: ipv4: Address not found." >&2
            echo "Command failed -:$n" >&2
            rc=1
        fi
    done
    exit $rc ;;
*)
    echo "stub ip: unexpected: $*" >&2
    exit 2 ;;
esac
)";

constexpr const char* kStubSysctl = R"(#!/bin/sh
echo "$*" >>"$LVSCTL_TEST_SYSCTL_LOG"
)";

// The stubs first on PATH for this test's commands, and their state in `dir`.
struct Stubs {
    TempDir dir;
    std::string old_path = std::getenv("PATH");
    std::filesystem::path lo = dir.path / "lo", sysctl_log = dir.path / "sysctl.log",
                          record = dir.path / "lib" / "lo-cluster-7.ips";
    Stubs() {
        const auto bin = dir.path / "bin";
        std::filesystem::create_directory(bin);
        for (const auto& [name, text] : {std::pair{"ip", kStubIp}, {"sysctl", kStubSysctl}}) {
            std::ofstream(bin / name) << text;
            ::chmod((bin / name).c_str(), 0755);
        }
        std::ofstream(lo) << "";
        ::setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
        ::setenv("LVSCTL_TEST_LO", lo.c_str(), 1);
        ::setenv("LVSCTL_TEST_SYSCTL_LOG", sysctl_log.c_str(), 1);
    }
    ~Stubs() {
        ::setenv("PATH", old_path.c_str(), 1);
        ::unsetenv("LVSCTL_TEST_LO");
        ::unsetenv("LVSCTL_TEST_SYSCTL_LOG");
    }
};

std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
    std::vector<IpAddress> out;
    for (const auto* t : texts) {
        out.push_back(ip(t));
    }
    return out;
}

}  // namespace

TEST_CASE("the web-server scripts, run for real: read, record, add, append, remove") {
    Stubs stubs;
    LocalHost host;
    const auto converge = [&](std::vector<IpAddress> desired) {
        WebServerStep step(host, "web local", 7, std::move(desired), stubs.record.string());
        const auto& plan = step.observe();
        HostReport report;
        CHECK(step.add(report));
        CHECK(step.remove(report));
        CAPTURE(report.errors);
        CHECK(report.errors.empty());
        return plan;
    };

    // From empty: the record written first (the directory made), then both addresses added.
    const auto first = converge(ips({"10.39.84.131", "2001:db8::131"}));
    CHECK(first.add == ips({"10.39.84.131", "2001:db8::131"}));
    CHECK(read_file(stubs.record) == "10.39.84.131\n2001:db8::131\n");
    CHECK(read_file(stubs.lo) == "10.39.84.131/32\n2001:db8::131/128\n");
    // The ARP sysctls are set unless this machine already has them so.
    const auto ignore = read_file("/proc/sys/net/ipv4/conf/all/arp_ignore");
    const auto announce = read_file("/proc/sys/net/ipv4/conf/all/arp_announce");
    if (ignore != "1\n" || announce != "2\n") {
        CHECK(read_file(stubs.sysctl_log)
                  .find("-q -w net.ipv4.conf.all.arp_ignore=1 "
                        "net.ipv4.conf.all.arp_announce=2") != std::string::npos);
    }

    // One more: appended to the record by the shell's own read, then added.
    const auto second = converge(ips({"10.39.84.131", "10.39.84.132", "2001:db8::131"}));
    CHECK(second.add == ips({"10.39.84.132"}));
    CHECK(second.appended() == ips({"10.39.84.132"}));
    CHECK(read_file(stubs.record) == "10.39.84.131\n2001:db8::131\n10.39.84.132\n");
    CHECK(read_file(stubs.lo) == "10.39.84.131/32\n2001:db8::131/128\n10.39.84.132/32\n");

    // Two leave: removed from lo, then the record rewritten whole through replace-file.sh.
    const auto third = converge(ips({"10.39.84.132"}));
    CHECK(third.remove.size() == 2);
    CHECK(read_file(stubs.lo) == "10.39.84.132/32\n");
    CHECK(read_file(stubs.record) == "10.39.84.132\n");

    // Converged: the read sees it so, and nothing is planned (the sysctls aside).
    WebServerStep step(host, "web local", 7, ips({"10.39.84.132"}), stubs.record.string());
    const auto& plan = step.observe();
    CHECK(plan.add.empty());
    CHECK(plan.remove.empty());
    CHECK_FALSE(plan.record_grows());
    CHECK_FALSE(plan.record_after);
}

TEST_CASE("the web-server scripts, run for real: a website IP already on lo is taken over") {
    Stubs stubs;
    LocalHost host;
    std::filesystem::create_directories(stubs.record.parent_path());
    std::ofstream(stubs.lo) << "10.39.84.131/32\n10.39.84.140/32\n";
    SUBCASE("the record appended to: one line, no address line sent") {
        std::ofstream(stubs.record) << "10.39.84.131\n";
        WebServerStep step(host, "web local", 7, ips({"10.39.84.131", "10.39.84.140"}),
                           stubs.record.string());
        const auto& plan = step.observe();
        CHECK(plan.add.empty());
        CHECK(plan.appended() == ips({"10.39.84.140"}));
        CHECK_FALSE(plan.record_before);
        CHECK(plan.record_size == 2);
        HostReport report;
        CHECK(step.add(report));
        CHECK(report.errors.empty());
        // (After the ARP sysctls, where this machine does not have them so.)
        REQUIRE_FALSE(report.done.empty());
        CHECK(report.done.back() == "record 2 website IPs in " + stubs.record.string());
        CHECK(read_file(stubs.record) == "10.39.84.131\n10.39.84.140\n");
    }
    SUBCASE("a record cut short is rewritten whole") {
        std::ofstream(stubs.record) << "10.39.84.131\n10.39.8";
        WebServerStep step(host, "web local", 7, ips({"10.39.84.131", "10.39.84.140"}),
                           stubs.record.string());
        const auto& plan = step.observe();
        CHECK(plan.appended().empty());
        REQUIRE(plan.record_before);
        CHECK(*plan.record_before == ips({"10.39.84.131", "10.39.84.140"}));
        HostReport report;
        CHECK(step.add(report));
        CHECK(report.errors.empty());
        CHECK(read_file(stubs.record) == "10.39.84.131\n10.39.84.140\n");
    }
    CHECK(read_file(stubs.lo) == "10.39.84.131/32\n10.39.84.140/32\n");
}

TEST_CASE("the web-server scripts, run for real: more than 16 new addresses go through dd") {
    Stubs stubs;
    LocalHost host;
    std::vector<IpAddress> many;
    for (int i = 1; i <= 20; ++i) {
        many.push_back(ip(("10.39.86." + std::to_string(i)).c_str()));
    }
    {
        WebServerStep step(host, "web local", 7, {many.front()}, stubs.record.string());
        step.observe();
        HostReport report;
        CHECK(step.add(report));
    }
    WebServerStep step(host, "web local", 7, many, stubs.record.string());
    CHECK(step.observe().appended().size() == 19);
    HostReport report;
    CHECK(step.add(report));
    CHECK(report.errors.empty());
    std::string want;
    for (const auto& x : many) {
        want += x.str() + "\n";
    }
    CHECK(read_file(stubs.record) == want);
}

TEST_CASE("the record rewritten with its content cut short is left as it was") {
    Stubs stubs;
    LocalHost host;
    {
        WebServerStep step(host, "web local", 7, ips({"10.39.84.131", "10.39.84.132"}),
                           stubs.record.string());
        step.observe();
        HostReport report;
        REQUIRE(step.add(report));
    }
    // A rewrite (131 goes) whose input is cut: the record must not lose its lines.
    WebServerStep step(host, "web local", 7, ips({"10.39.84.132"}), stubs.record.string());
    step.observe();
    HostReport added;
    REQUIRE(step.add(added));
    host.cut_input_at = 3;
    host.cut_only = "lvsctl-upload";
    HostReport report;
    CHECK_FALSE(step.remove(report));
    CHECK(read_file(stubs.record) == "10.39.84.131\n10.39.84.132\n");
}
