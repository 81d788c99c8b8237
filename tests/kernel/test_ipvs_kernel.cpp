// lvsctl's IPVS code against a real kernel (run inside user-mode Linux by ctest), each result
// cross-checked with `ipvsadm -S -n`, the reference tool.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ipvs/kernel.h"
#include "lvsctl/error.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "shell.h"

using namespace lvsctl;
using namespace std::chrono_literals;
using lvsctl::testing::ip;

namespace {

std::string sh(const std::string& command) {  // its exit status is not looked at
    return lvsctl::testing::shell(command, lvsctl::testing::Status::any);
}

// ipvsadm's own view of the table, one rule a line (services in the kernel's hash order).
std::string saved() {
    return sh("ipvsadm -S -n");
}

// The same, order aside: each service followed by its destinations, services sorted.
std::string saved_sorted() {
    return sh(
        "ipvsadm -S -n | awk '/^-A/{key=$0} {print key \"\\t\" $0}' | sort -s -t'\t' -k1,1 "
        "| cut -f2");
}

struct Table {
    Table() { REQUIRE(std::system("ipvsadm -C") == 0); }
    ~Table() { (void)std::system("ipvsadm -C"); }
};

class SteadyClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override {
        return std::chrono::steady_clock::now();
    }
    void sleep(std::chrono::milliseconds d) override {
        struct timespec ts {
            0, static_cast<long>(d.count()) * 1000000L
        };
        nanosleep(&ts, nullptr);
    }
};

// Counts what goes through to the kernel, and can act behind the reconciler's back.
class Spy : public IpvsKernel {
  public:
    explicit Spy(IpvsKernel& inner) : inner_(inner) {}
    std::vector<ServiceInfo> services() override { return inner_.services(); }
    std::optional<std::vector<DestInfo>> destinations(const ServiceKey& k) override {
        return inner_.destinations(k);
    }
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        ++apply_calls;
        changes_sent += changes.size();
        if (!before_apply.empty()) {
            REQUIRE(std::system(before_apply.c_str()) == 0);
            before_apply.clear();
        }
        return inner_.apply(changes);
    }
    std::size_t apply_calls = 0;
    std::size_t changes_sent = 0;
    std::string before_apply;  // a shell command run before the next batch

  private:
    IpvsKernel& inner_;
};

std::vector<DesiredService> services_of(const Cluster& c) {
    return ipvs_services(desired_state(c, c.load_balancers[0], 30));
}

IpvsReport reconcile(IpvsKernel& kernel, const std::vector<DesiredService>& desired,
                     const std::vector<ServiceKey>& retired = {}) {
    SteadyClock clock;
    return IpvsReconciler(kernel, clock).reconcile(desired, retired, 0s);
}

}  // namespace

TEST_CASE("the seed cluster from an empty table, as ipvsadm would have made it") {
    Table table;
    ipvs::NetlinkKernel kernel;
    const auto report = reconcile(kernel, services_of(lvsctl::testing::seed_cluster()));
    CHECK(report.errors.empty());
    CHECK(saved() ==
          "-A -f 100 -s lblc\n"
          "-a -f 100 -r 10.39.84.43:0 -g -w 32\n"
          "-a -f 100 -r 10.39.84.44:0 -g -w 32\n");
}

TEST_CASE("IPv6 fwmark service with IPv6 destinations, persistence, every forwarding method") {
    Table table;
    auto c = lvsctl::testing::dual_stack_cluster();
    c.persistence = 300;
    auto desired = services_of(c);
    desired[0].dests[0].settings.forward = IpvsForward::masq;
    desired[0].dests[1].settings.forward = IpvsForward::tunnel;
    ipvs::NetlinkKernel kernel;
    CHECK(reconcile(kernel, desired).errors.empty());
    CHECK(saved() ==
          "-A -f 100 -s lblc -p 300\n"
          "-a -f 100 -r 10.39.84.43:0 -m -w 32\n"
          "-a -f 100 -r 10.39.84.44:0 -i -w 32 --tun-type ipip\n"
          "-A -f 100 -6 -s lblc -p 300\n"
          "-a -f 100 -6 -r [2001:db8:84::43]:0 -g -w 32\n"
          "-a -f 100 -6 -r [2001:db8:84::44]:0 -g -w 32\n");
    // What the kernel dumps back reads as what was asked for: a converged plan.
    IpvsReconciler r(kernel, *std::make_unique<SteadyClock>());
    CHECK(plan_ipvs(desired, {}, r.observe({desired[0].key, desired[1].key}), false).converged());
}

TEST_CASE("every scheduler this kernel has; a missing one is a clear error") {
    Table table;
    ipvs::NetlinkKernel kernel;
    for (const char* sched :
         {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}) {
        CAPTURE(sched);
        auto desired = services_of(lvsctl::testing::seed_cluster());
        desired[0].settings.scheduler = sched;
        CHECK(reconcile(kernel, desired).errors.empty());
        CHECK(saved().starts_with(std::string("-A -f 100 -s ") + sched + "\n"));
    }
    auto desired = services_of(lvsctl::testing::seed_cluster());
    desired[0].key.fwmark = 5;
    desired[0].settings.scheduler = "nosuch";
    const auto report = reconcile(kernel, desired);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0] ==
          "add service FWM 5: Scheduler not found (is the ip_vs_nosuch module available?)");
    CHECK(saved().find("-f 5 ") == std::string::npos);
}

TEST_CASE("address:port services: add, set, delete through the same code") {
    Table table;
    ipvs::NetlinkKernel kernel;
    ServiceKey tcp6;
    tcp6.family = Family::inet6;
    tcp6.protocol = 6;
    tcp6.address = ip("2001:db8::80");
    tcp6.port = 443;
    IpvsChange add;
    add.op = IpvsOp::add_service;
    add.service = tcp6;
    add.service_settings = {"wrr", kSvcPersistent, 60, 64};
    IpvsChange dest = add;
    dest.op = IpvsOp::add_dest;
    dest.dest = {ip("2001:db8::81"), 8443};
    dest.dest_settings = {IpvsForward::masq, 5, 100, 10};
    CHECK(kernel.apply({add, dest}) == std::vector<int>{0, 0});
    // ipvsadm -S does not save thresholds; the dump below shows them.
    CHECK(saved() ==
          "-A -t [2001:db8::80]:443 -s wrr -p 60 -M 64\n"
          "-a -t [2001:db8::80]:443 -r [2001:db8::81]:8443 -m -w 5\n");
    const auto dumped = kernel.table();
    REQUIRE(dumped.size() == 1);
    CHECK(dumped[0].key == tcp6);
    CHECK(dumped[0].settings == add.service_settings);
    REQUIRE(dumped[0].dests.size() == 1);
    CHECK(dumped[0].dests[0].settings == dest.dest_settings);

    IpvsChange again = add;  // the kernel's EEXIST comes back as such
    IpvsChange del;
    del.op = IpvsOp::delete_service;
    del.service = tcp6;
    IpvsChange del_dest = dest;
    del_dest.op = IpvsOp::delete_dest;
    CHECK(kernel.apply({again, del, del_dest}) == std::vector<int>{EEXIST, 0, ESRCH});
    CHECK(saved().empty());
}

TEST_CASE("a converged table: the reconciler sends not one changing message") {
    Table table;
    ipvs::NetlinkKernel real;
    const auto desired = services_of(lvsctl::testing::dual_stack_cluster());
    reconcile(real, desired);
    const auto before = saved();
    Spy spy(real);
    const auto report = reconcile(spy, desired);
    CHECK_FALSE(report.changed());
    CHECK(spy.apply_calls == 0);
    CHECK(saved() == before);
}

TEST_CASE("a weight change is a SET: the destination and its counters stay") {
    Table table;
    ipvs::NetlinkKernel kernel;
    auto c = lvsctl::testing::seed_cluster();
    reconcile(kernel, services_of(c));
    c.servers[0].weight = 3;
    Spy spy(kernel);
    const auto report = reconcile(spy, services_of(c));
    CHECK(report.done == std::vector<std::string>{"set destination 10.39.84.43:0 in FWM 100"});
    CHECK(spy.changes_sent == 1);
    CHECK(saved() ==
          "-A -f 100 -s lblc\n"
          "-a -f 100 -r 10.39.84.43:0 -g -w 3\n"
          "-a -f 100 -r 10.39.84.44:0 -g -w 32\n");
}

TEST_CASE("services lvsctl does not own survive everything it does") {
    Table table;
    REQUIRE(std::system("ipvsadm -A -t 192.0.2.80:80 -s rr && "
                        "ipvsadm -a -t 192.0.2.80:80 -r 192.0.2.81:80 -m -w 3 && "
                        "ipvsadm -A -f 101 -s wlc") == 0);
    const auto foreign = saved_sorted();
    ipvs::NetlinkKernel kernel;
    auto c = lvsctl::testing::dual_stack_cluster();
    reconcile(kernel, services_of(c));
    c.servers.pop_back();
    c.scheduler = "wrr";
    reconcile(kernel, services_of(c));
    // The IPv6 service is retired when the cluster loses its IPv6 website IPs.
    c.website_ips.pop_back();
    reconcile(kernel, services_of(c), {ServiceKey::fwmark_service(Family::inet6, 100)});
    CHECK(saved_sorted() == "-A -f 100 -s wrr\n-a -f 100 -r 10.39.84.43:0 -g -w 32\n" + foreign);
}

TEST_CASE("races with another writer are resynced: the table converges") {
    Table table;
    ipvs::NetlinkKernel kernel;
    auto c = lvsctl::testing::seed_cluster();
    reconcile(kernel, services_of(c));
    c.servers[1].weight = 9;

    SUBCASE("the service is deleted behind the agent's back") {
        Spy spy(kernel);
        spy.before_apply = "ipvsadm -D -f 100";
        const auto report = reconcile(spy, services_of(c));
        CHECK(report.errors.empty());
        CHECK(spy.apply_calls == 2);
    }
    SUBCASE("a destination is deleted behind the agent's back") {
        Spy spy(kernel);
        spy.before_apply = "ipvsadm -d -f 100 -r 10.39.84.44";
        CHECK(reconcile(spy, services_of(c)).errors.empty());
    }
    SUBCASE("a destination appears before the agent adds it") {
        c.servers.push_back({45,
                             ip("10.39.94.45"),
                             ip("10.39.84.45"),
                             std::nullopt,
                             22,
                             32,
                             true,
                             std::nullopt,
                             {}});
        Spy spy(kernel);
        spy.before_apply = "ipvsadm -a -f 100 -r 10.39.84.45 -g -w 1";
        CHECK(reconcile(spy, services_of(c)).errors.empty());
    }
    const auto rules = saved();
    CHECK(rules.find("-a -f 100 -r 10.39.84.44:0 -g -w 9\n") != std::string::npos);
    CHECK(rules.starts_with("-A -f 100 -s lblc\n"));
}

TEST_CASE("a large batch is acknowledged in full: no ENOBUFS, every change in the kernel") {
    Table table;
    ipvs::NetlinkKernel kernel(512);
    std::vector<DesiredService> desired;
    for (std::uint32_t mark = 1; mark <= 100; ++mark) {
        DesiredService svc;
        svc.key = ServiceKey::fwmark_service(Family::inet, mark);
        svc.settings = {"wrr", 0, 0, 0xffffffff};
        for (int d = 1; d <= 30; ++d) {
            svc.dests.push_back({{*IpAddress::parse(fmt::format("10.{}.0.{}", mark, d)), 0},
                                 {IpvsForward::route, static_cast<std::uint32_t>(d), 0, 0}});
        }
        desired.push_back(std::move(svc));
    }
    const auto report = reconcile(kernel, desired);
    CHECK(report.errors.empty());
    CHECK(report.changes_sent == 100 * 31);
    CHECK(sh("ipvsadm -S -n | wc -l") == "3100\n");
    CHECK(kernel.sendmsg_calls() < 20);  // pipelined: many changes per sendmsg
}

TEST_CASE("status lays the table out as ipvsadm -L -n does (and --stats, --rate)") {
    Table table;
    auto c = lvsctl::testing::dual_stack_cluster();
    c.persistence = 300;
    ipvs::NetlinkKernel kernel;
    CHECK(reconcile(kernel, services_of(c)).errors.empty());
    REQUIRE(std::system("ipvsadm -A -t 192.0.2.80:80 -s rr && "
                        "ipvsadm -a -t 192.0.2.80:80 -r 192.0.2.81:80 -m -w 3") == 0);
    const auto without_version = [](std::string text) {
        return text.substr(text.find('\n') + 1);  // "IP Virtual Server version ... (size=...)"
    };
    CHECK(ipvsadm_table(kernel.table(), TableLayout::list) == without_version(sh("ipvsadm -L -n")));
    CHECK(ipvsadm_table(kernel.table(), TableLayout::stats) ==
          without_version(sh("ipvsadm -L -n --stats")));
    CHECK(ipvsadm_table(kernel.table(), TableLayout::rate) ==
          without_version(sh("ipvsadm -L -n --rate")));
}
