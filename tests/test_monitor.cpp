// The monitor's core (lb/monitor.h) against the fake kernel, with a numeric clock: which kernel
// changes each health change makes, in one batch, and what it logs.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "fake_kernel.h"
#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/monitor.h"

using namespace lvsctl;
using lvsctl::testing::FakeKernel;
using lvsctl::testing::ip;

namespace {

MonitorTime at(int s) {
    return MonitorTime{} + std::chrono::seconds(s);
}

// The seed cluster (two servers, weight 32) with reentry 10.
LbDesiredState seed_state(bool quiesce = false) {
    auto c = lvsctl::testing::seed_cluster();
    c.quiesce_server = quiesce;
    c.check_reentry = 10;
    return desired_state(c, c.load_balancers[0], 30);
}

// The kernel as `agent apply` leaves it for `state`.
void program(FakeKernel& kernel, const LbDesiredState& state) {
    for (const auto& svc : state.services) {
        ServiceInfo info;
        info.key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
        info.settings.scheduler = svc.scheduler;
        for (const auto& d : svc.destinations) {
            DestInfo dest;
            dest.key = {d.address, d.port};
            dest.settings.forward = to_ipvs(d.forwarding);
            dest.settings.weight = d.weight;
            info.dests.push_back(dest);
        }
        kernel.table[info.key] = info;
    }
}

std::optional<std::uint32_t> kernel_weight(FakeKernel& kernel, const char* address) {
    const auto& dests = kernel.table.begin()->second.dests;
    const auto it = std::find_if(dests.begin(), dests.end(),
                                 [&](const DestInfo& d) { return d.key.address == ip(address); });
    return it == dests.end() ? std::nullopt : std::optional(it->settings.weight);
}

}  // namespace

TEST_CASE("monitor: a restarted monitor keeps what the kernel has, and checks before it acts") {
    FakeKernel kernel;
    const auto state = seed_state();
    program(kernel, state);
    Monitor monitor(kernel);
    monitor.load(state);
    REQUIRE(monitor.targets().size() == 2);
    CHECK(monitor.targets()[0].where() == "10.39.84.43:80");
    CHECK(monitor.targets()[0].mgmt_address == ip("10.39.94.43"));
    monitor.checked(ip("10.39.84.43"), true, at(0));
    monitor.checked(ip("10.39.84.44"), true, at(0));
    CHECK(monitor.flush().empty());
    CHECK(kernel.messages == 0);
    CHECK(monitor.health(ip("10.39.84.43"))->state() == Health::up);
}

TEST_CASE("monitor: a failed server leaves every service at once, and comes back after reentry") {
    FakeKernel kernel;
    const auto state = seed_state();
    program(kernel, state);
    Monitor monitor(kernel);
    monitor.load(state);
    monitor.checked(ip("10.39.84.43"), false, at(0));
    monitor.checked(ip("10.39.84.44"), false, at(0));
    const auto log = monitor.flush();
    CHECK(log == std::vector<std::string>{
                     "[inactive] shutting down 10.39.84.43:80 due to connection failure",
                     "[inactive] shutting down 10.39.84.44:80 due to connection failure"});
    CHECK(kernel.apply_calls == 1);  // one batch
    CHECK(kernel.messages == 2);
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.43"));
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.44"));

    monitor.checked(ip("10.39.84.43"), true, at(5));
    CHECK(monitor.flush().empty());  // re-entering: still out
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.43"));
    monitor.checked(ip("10.39.84.43"), true, at(15));
    CHECK(monitor.flush() ==
          std::vector<std::string>{"[ active ] making 10.39.84.43:80 available"});
    CHECK(kernel_weight(kernel, "10.39.84.43") == 1u);  // 32 >> 5

    // Slow start, logged; the other server stays out.
    monitor.step(at(35), {{ip("10.39.84.43"), 0.1}});  // a load, but slow start comes first
    CHECK(monitor.flush() ==
          std::vector<std::string>{"weight of 10.39.84.43:80 from 1 to 2 (slow start)"});
    CHECK(kernel_weight(kernel, "10.39.84.43") == 2u);
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.44"));
}

TEST_CASE("monitor: with quiesce_server a failed server keeps its place at weight 0") {
    FakeKernel kernel;
    const auto state = seed_state(true);
    program(kernel, state);
    Monitor monitor(kernel);
    monitor.load(state);
    monitor.checked(ip("10.39.84.44"), false, at(0));
    monitor.flush();
    CHECK(kernel_weight(kernel, "10.39.84.44") == 0u);
    CHECK(kernel_weight(kernel, "10.39.84.43") == 32u);
}

TEST_CASE("monitor: a new desired state keeps the health; a new server is checked first") {
    FakeKernel kernel;
    auto state = seed_state();
    program(kernel, state);
    Monitor monitor(kernel);
    monitor.load(state);
    monitor.checked(ip("10.39.84.43"), false, at(0));
    monitor.flush();

    // The database's weight changes while the server is down: it stays out.
    auto c = lvsctl::testing::seed_cluster();
    c.servers[0].weight = 64;
    Server added = c.servers[1];
    added.node_id = 45;
    added.mgmt_address = ip("10.39.94.45");
    added.address = ip("10.39.84.45");
    c.servers.push_back(added);
    const auto next = desired_state(c, c.load_balancers[0], 30);
    monitor.load(next);
    CHECK(monitor.flush().empty());
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.43"));
    // The new server is not in the kernel and not trusted until its check passes.
    CHECK(monitor.health(ip("10.39.84.45"))->state() == Health::unchecked);
    CHECK_FALSE(kernel_weight(kernel, "10.39.84.45"));
    monitor.checked(ip("10.39.84.45"), true, at(20));
    CHECK(monitor.flush() ==
          std::vector<std::string>{"[ active ] making 10.39.84.45:80 available"});
    CHECK(kernel_weight(kernel, "10.39.84.45") == 1u);

    // A server no longer in the desired state is forgotten; its results are ignored.
    c.servers.erase(c.servers.begin());
    monitor.load(desired_state(c, c.load_balancers[0], 30));
    CHECK(monitor.health(ip("10.39.84.43")) == nullptr);
    monitor.checked(ip("10.39.84.43"), true, at(30));
    CHECK(monitor.flush().empty());
}

TEST_CASE("monitor: a change the kernel refuses is logged and tried again") {
    FakeKernel kernel;
    const auto state = seed_state(true);
    program(kernel, state);
    Monitor monitor(kernel);
    monitor.load(state);
    monitor.checked(ip("10.39.84.43"), false, at(0));
    // Someone deletes the destination between the dump and the change.
    kernel.before_apply = [](FakeKernel& k) {
        k.table.begin()->second.dests.erase(k.table.begin()->second.dests.begin());
    };
    const auto log = monitor.flush();
    REQUIRE(log.size() == 2);
    CHECK(log[1].starts_with("set destination 10.39.84.43:0 in FWM 100"));
    // Next flush: the destination is added back at weight 0 (quiesced).
    CHECK(monitor.flush().empty());
    CHECK(kernel_weight(kernel, "10.39.84.43") == 0u);
}

TEST_CASE("monitor: a desired state without checks is refused") {
    FakeKernel kernel;
    auto state = seed_state();
    state.checks.reset();
    Monitor monitor(kernel);
    CHECK_THROWS_AS(monitor.load(state), Error);
}
