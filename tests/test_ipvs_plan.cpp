#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>

#include "fake_kernel.h"
#include "fixtures.h"
#include "lvsctl/lb/ipvs_plan.h"

using namespace lvsctl;
using namespace std::chrono_literals;
using lvsctl::testing::FakeClock;
using lvsctl::testing::FakeKernel;
using lvsctl::testing::ip;

namespace {

const ServiceKey kFwm4 = ServiceKey::fwmark_service(Family::inet, 100);
const ServiceKey kFwm6 = ServiceKey::fwmark_service(Family::inet6, 100);

std::vector<DesiredService> seed_services(const Cluster& c = lvsctl::testing::seed_cluster()) {
    return ipvs_services(desired_state(c, c.load_balancers[0], 30));
}

std::vector<std::string> described(const IpvsPlan& plan) {
    std::vector<std::string> out;
    for (const auto& c : plan.changes) {
        out.push_back(c.describe());
    }
    return out;
}

// The kernel after the desired state was applied to an empty table.
FakeKernel converged(const std::vector<DesiredService>& desired) {
    FakeKernel k;
    FakeClock clock;
    IpvsReconciler(k, clock).reconcile(desired, {}, 0s);
    k.messages = 0;
    k.apply_calls = 0;
    return k;
}

}  // namespace

TEST_CASE("from an empty table: the service, then its destinations") {
    FakeKernel kernel;
    FakeClock clock;
    CHECK(IpvsReconciler(kernel, clock).reconcile(seed_services(), {}, 30s).services_added == 1);
    const auto plan = plan_ipvs(seed_services(), {}, {}, false);
    CHECK(described(plan) == std::vector<std::string>{"add service FWM 100",
                                                      "add destination 10.39.84.43:0 to FWM 100",
                                                      "add destination 10.39.84.44:0 to FWM 100"});
    CHECK(plan.changes[0].service_settings.scheduler == "lblc");
    CHECK(plan.changes[0].service_settings.netmask == 0xffffffffU);
    CHECK(plan.changes[1].dest_settings.forward == IpvsForward::route);
    CHECK(plan.changes[1].dest_settings.weight == 32);
}

TEST_CASE("the same state twice gives no change") {
    for (const auto& cluster :
         {lvsctl::testing::seed_cluster(), lvsctl::testing::dual_stack_cluster()}) {
        const auto desired = seed_services(cluster);
        auto kernel = converged(desired);
        FakeClock clock;
        IpvsReconciler r(kernel, clock);
        CHECK(plan_ipvs(desired, {}, r.observe({kFwm4, kFwm6}), false).converged());
        const auto report = r.reconcile(desired, {}, 30s);
        CHECK_FALSE(report.changed());
        CHECK(report.changes_sent == 0);
        CHECK(report.services_added == 0);
        CHECK(kernel.apply_calls == 0);  // not one changing message
    }
}

TEST_CASE("a weight change is one SET, never a delete and re-add") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    kernel.dest(kFwm4, {ip("10.39.84.44"), 0})->stats.conns = 1234;  // counters must survive
    c.servers[1].weight = 5;
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 30s);
    CHECK(report.done == std::vector<std::string>{"set destination 10.39.84.44:0 in FWM 100"});
    CHECK(report.services_added == 0);
    CHECK(kernel.dest(kFwm4, {ip("10.39.84.44"), 0})->settings.weight == 5);
    CHECK(kernel.dest(kFwm4, {ip("10.39.84.44"), 0})->stats.conns == 1234);
}

TEST_CASE("a scheduler or persistence change is one SET_SERVICE") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    c.scheduler = "wrr";
    c.persistence = 300;
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 30s);
    CHECK(report.done == std::vector<std::string>{"set service FWM 100"});
    CHECK(kernel.table[kFwm4].settings.scheduler == "wrr");
    CHECK(kernel.table[kFwm4].settings.flags == kSvcPersistent);
    CHECK(kernel.table[kFwm4].settings.timeout == 300);
    CHECK(kernel.table[kFwm4].dests.size() == 2);
}

TEST_CASE("an inactive server stays with weight 0") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    c.servers[0].active = false;
    FakeClock clock;
    IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 30s);
    REQUIRE(kernel.dest(kFwm4, {ip("10.39.84.43"), 0}) != nullptr);
    CHECK(kernel.dest(kFwm4, {ip("10.39.84.43"), 0})->settings.weight == 0);
}

TEST_CASE("services lvsctl does not own are never touched") {
    auto kernel = converged(seed_services());
    ServiceKey web;
    web.protocol = 6;
    web.address = ip("192.0.2.80");
    web.port = 80;
    kernel.add(web, {"rr", 0, 0, 0xffffffff});
    kernel.table[web].dests.push_back(
        {{ip("192.0.2.81"), 80}, {IpvsForward::masq, 1, 0, 0}, 3, 0, 0, {}});
    kernel.add(ServiceKey::fwmark_service(Family::inet, 101), {"wlc", 0, 0, 0xffffffff});
    auto c = lvsctl::testing::seed_cluster();
    c.servers.pop_back();
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 0s);
    CHECK(report.done == std::vector<std::string>{"delete destination 10.39.84.44:0 from FWM 100"});
    CHECK(kernel.table.size() == 3);
    CHECK(kernel.table[web].dests.size() == 1);
}

TEST_CASE("a removed server is drained: weight 0, deleted when its connections end") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    const DestKey leaving{ip("10.39.84.44"), 0};
    kernel.dest(kFwm4, leaving)->active_conns = 2;
    c.servers.pop_back();
    FakeClock clock;
    int polls = 0;
    clock.on_sleep = [&] {
        // The weight is already 0 when the first poll comes; connections end after three.
        CHECK(kernel.dest(kFwm4, leaving)->settings.weight == 0);
        if (++polls == 3) {
            kernel.dest(kFwm4, leaving)->active_conns = 0;
        }
    };
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 30s, 1000ms);
    CHECK(report.done == std::vector<std::string>{"set destination 10.39.84.44:0 in FWM 100",
                                                  "delete destination 10.39.84.44:0 from FWM 100"});
    CHECK(kernel.dest(kFwm4, leaving) == nullptr);
    CHECK(clock.sleeps == 3);
}

TEST_CASE("draining ends at the drain timeout") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    kernel.dest(kFwm4, {ip("10.39.84.44"), 0})->active_conns = 7;  // never ends
    c.servers.pop_back();
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 10s, 1000ms);
    CHECK(kernel.dest(kFwm4, {ip("10.39.84.44"), 0}) == nullptr);
    CHECK(clock.t - std::chrono::steady_clock::time_point{} == 10s);
    CHECK(report.done.back() == "delete destination 10.39.84.44:0 from FWM 100");
}

TEST_CASE("drain timeout 0 deletes at once") {
    auto c = lvsctl::testing::seed_cluster();
    auto kernel = converged(seed_services(c));
    kernel.dest(kFwm4, {ip("10.39.84.44"), 0})->active_conns = 7;
    c.servers.pop_back();
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 0s);
    CHECK(report.done == std::vector<std::string>{"delete destination 10.39.84.44:0 from FWM 100"});
    CHECK(clock.sleeps == 0);
}

TEST_CASE("a retired service is drained, then deleted") {
    const auto dual = seed_services(lvsctl::testing::dual_stack_cluster());
    auto kernel = converged(dual);
    REQUIRE(kernel.table.contains(kFwm6));
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(), {kFwm6}, 30s);
    CHECK(report.done.back() == "delete service FWM 100 (IPv6)");
    CHECK_FALSE(kernel.table.contains(kFwm6));
    CHECK(kernel.table.contains(kFwm4));
}

TEST_CASE("races with another writer are resynced, not fatal") {
    const auto desired = seed_services();
    SUBCASE("the service is deleted behind our back") {
        auto kernel = converged(desired);
        auto c = lvsctl::testing::seed_cluster();
        c.servers[0].weight = 1;
        kernel.before_apply = [](FakeKernel& k) { k.table.erase(kFwm4); };
        FakeClock clock;
        const auto report = IpvsReconciler(kernel, clock).reconcile(seed_services(c), {}, 30s);
        CHECK(report.errors.empty());
        CHECK(kernel.table[kFwm4].dests.size() == 2);
        CHECK(kernel.dest(kFwm4, {ip("10.39.84.43"), 0})->settings.weight == 1);
    }
    SUBCASE("someone else creates the service first (EEXIST)") {
        FakeKernel kernel;
        kernel.before_apply = [](FakeKernel& k) { k.add(kFwm4, {"rr", 0, 0, 0xffffffff}); };
        FakeClock clock;
        const auto report = IpvsReconciler(kernel, clock).reconcile(desired, {}, 30s);
        CHECK(report.errors.empty());
        CHECK(kernel.table[kFwm4].settings.scheduler == "lblc");
        CHECK(kernel.table[kFwm4].dests.size() == 2);
    }
}

TEST_CASE("a scheduler the kernel lacks is an error naming the service and the module") {
    auto c = lvsctl::testing::seed_cluster();
    auto desired = seed_services(c);
    desired[0].settings.scheduler = "nosuch";
    FakeKernel kernel;
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(desired, {}, 30s);
    REQUIRE_FALSE(report.errors.empty());
    CHECK(report.errors[0] ==
          "add service FWM 100: Scheduler not found (is the ip_vs_nosuch module available?)");
}

TEST_CASE("a service's digest changes with its rules, not with their order") {
    const auto desired = seed_services(lvsctl::testing::dual_stack_cluster());
    REQUIRE(desired.size() == 2);
    const auto digest = service_digest(desired[0]);
    CHECK(digest.size() == 16);
    CHECK(digest != service_digest(desired[1]));  // another family, other destinations
    auto reordered = desired[0];
    std::reverse(reordered.dests.begin(), reordered.dests.end());
    CHECK(service_digest(reordered) == digest);
    auto heavier = desired[0];
    heavier.dests[0].settings.weight += 1;
    CHECK(service_digest(heavier) != digest);
    auto scheduled = desired[0];
    scheduled.settings.scheduler = "wlc";
    CHECK(service_digest(scheduled) != digest);
    auto fewer = desired[0];
    fewer.dests.pop_back();
    CHECK(service_digest(fewer) != digest);
}

TEST_CASE("trusted digests: only changed services have their destinations dumped") {
    const auto desired = seed_services(lvsctl::testing::dual_stack_cluster());
    FakeKernel kernel;
    FakeClock clock;
    IpvsReconciler r(kernel, clock);
    const auto first = r.reconcile(desired, {}, 0s);
    REQUIRE(first.errors.empty());
    REQUIRE(first.converged.size() == 2);
    CHECK(first.converged.at(kFwm4) == service_digest(desired[0]));

    SUBCASE("nothing changed: no destination dumped, nothing sent") {
        kernel.dest_dumps = kernel.messages = 0;
        const auto report = r.reconcile(desired, {}, 0s, 500ms, &first.converged);
        CHECK(report.trusted == 2);
        CHECK(kernel.dest_dumps == 0);
        CHECK(kernel.messages == 0);
        CHECK(report.converged == first.converged);
    }
    SUBCASE("one weight changed: that service alone is dumped, one SET") {
        auto changed = desired;
        changed[1].dests[0].settings.weight = 7;
        kernel.dest_dumps = kernel.messages = 0;
        const auto report = r.reconcile(changed, {}, 0s, 500ms, &first.converged);
        CHECK(report.trusted == 1);
        CHECK(kernel.dest_dumps == 1);
        CHECK(kernel.messages == 1);
        CHECK(kernel.table[changed[1].key].dests[0].settings.weight == 7);
        CHECK(report.converged.at(changed[1].key) == service_digest(changed[1]));
    }
    SUBCASE("a trusted service's settings changed by hand are still repaired") {
        kernel.table[kFwm4].settings.scheduler = "rr";
        const auto report = r.reconcile(desired, {}, 0s, 500ms, &first.converged);
        CHECK(report.trusted == 2);
        CHECK(kernel.table[kFwm4].settings.scheduler == "lblc");
        CHECK(kernel.table[kFwm4].dests.size() == desired[0].dests.size());
    }
    SUBCASE("a trusted service deleted by hand is created again with its destinations") {
        kernel.table.erase(kFwm6);
        const auto report = r.reconcile(desired, {}, 0s, 500ms, &first.converged);
        CHECK(report.errors.empty());
        CHECK(kernel.table[kFwm6].dests.size() == desired[1].dests.size());
    }
    SUBCASE("a destination deleted by hand: unseen when trusting, repaired by a full run") {
        kernel.table[kFwm4].dests.pop_back();
        r.reconcile(desired, {}, 0s, 500ms, &first.converged);
        CHECK(kernel.table[kFwm4].dests.size() == desired[0].dests.size() - 1);
        r.reconcile(desired, {}, 0s);
        CHECK(kernel.table[kFwm4].dests.size() == desired[0].dests.size());
    }
    SUBCASE("a run with a refused change records no digests") {
        auto broken = desired;
        broken[0].settings.scheduler = "nosuch";
        const auto report = r.reconcile(broken, {}, 0s, 500ms, &first.converged);
        CHECK_FALSE(report.errors.empty());
        CHECK(report.converged.empty());
    }
}

TEST_CASE("a large reconcile names its first changes and counts the rest by kind") {
    std::vector<DesiredService> desired(2);
    for (std::size_t s = 0; s < desired.size(); ++s) {
        desired[s].key =
            ServiceKey::fwmark_service(Family::inet, static_cast<std::uint32_t>(s + 1));
        desired[s].settings = {"wrr", 0, 0, 0xffffffff};
        for (int i = 0; i < 150; ++i) {
            desired[s].dests.push_back({{ip(fmt::format("10.1.{}.{}", s, i + 1).c_str()), 0},
                                        {IpvsForward::route, 1, 0, 0}});
        }
    }
    FakeKernel kernel;
    FakeClock clock;
    const auto report = IpvsReconciler(kernel, clock).reconcile(desired, {}, 0s);
    CHECK(report.made == 302);
    CHECK(report.changes_sent == 302);
    REQUIRE(report.done.size() == kDescribed + 1);
    CHECK(report.done[0] == "add service FWM 1");
    CHECK(report.done[1] == "add service FWM 2");
    CHECK(report.done[2] == "add destination 10.1.0.1:0 to FWM 1");
    CHECK(report.done.back() == "... and 102 more changes: 102 add destination");
    CHECK(report.changed());

    // A mass reweight, and one destination gone, in the same way.
    for (auto& d : desired[1].dests) {
        d.settings.weight = 2;
    }
    desired[0].dests.pop_back();
    const auto again = IpvsReconciler(kernel, clock).reconcile(desired, {}, 0s);
    CHECK(again.made == 151);
    CHECK(again.done.size() == 151);  // within the bound: every change named
    CHECK(again.done.front() == "set destination 10.1.1.1:0 in FWM 2");
    CHECK(again.done.back() == "delete destination 10.1.0.150:0 from FWM 1");
}

TEST_CASE("observe: a service found as desired once dumped is confirmed, not held") {
    const auto desired = seed_services(lvsctl::testing::dual_stack_cluster());
    auto kernel = converged(desired);
    FakeClock clock;
    IpvsReconciler r(kernel, clock);
    std::set<ServiceKey> confirmed;
    // Both as desired: dumped (no digests to trust), compared, and dropped.
    auto observed = r.observe({kFwm4, kFwm6}, {}, &confirmed, &desired);
    CHECK(observed.empty());
    CHECK(confirmed == std::set<ServiceKey>{kFwm4, kFwm6});
    CHECK(kernel.dest_dumps == 2);

    // A weight, a destination too many or too few, or the scheduler: held for the plan.
    for (int c = 0; c < 4; ++c) {
        auto k = converged(desired);
        auto& service = k.table[kFwm6];
        if (c == 0) {
            service.dests[0].settings.weight = 7;
        } else if (c == 1) {
            service.dests.push_back(service.dests[0]);
            service.dests.back().key.address = ip("2001:db8:84::99");
        } else if (c == 2) {
            service.dests.pop_back();
        } else {
            service.settings.scheduler = "rr";
        }
        IpvsReconciler rc(k, clock);
        confirmed.clear();
        observed = rc.observe({kFwm4, kFwm6}, {}, &confirmed, &desired);
        CAPTURE(c);
        CHECK(confirmed == std::set<ServiceKey>{kFwm4});
        REQUIRE(observed.size() == 1);
        CHECK(observed.begin()->first == kFwm6);
        // And the reconcile repairs it.
        CHECK(rc.reconcile(desired, {}, 0s).changed());
        CHECK(rc.reconcile(desired, {}, 0s).changes_sent == 0);
    }
}
