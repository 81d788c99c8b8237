#include <doctest/doctest.h>

#include "fake_kernel.h"
#include "fixtures.h"
#include "lvsctl/lb/alias_step.h"

using namespace lvsctl;
using lvsctl::testing::FakeAddresses;
using lvsctl::testing::ip;

namespace {
bool contains(const std::vector<IpAddress>& list, const IpAddress& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
}
}  // namespace

TEST_CASE("aliases: recorded before they are added, with the ones taken over") {
    FakeAddresses kernel;
    const int eth1 = kernel.interface("eth1");
    kernel.addresses_of[eth1] = {{ip("10.39.94.41"), 24}, {ip("10.39.84.131"), 32}};
    AliasStep step(kernel, eth1, "eth1",
                   {ip("10.39.84.131"), ip("10.39.84.132"), ip("2001:db8::131")}, {});
    std::optional<OwnedAliases> recorded;
    bool checked = false;
    kernel.before_add = [&](const std::vector<IpAddress>& ips) {
        REQUIRE(recorded.has_value());  // the record was written first
        for (const auto& x : ips) {
            CHECK(contains(recorded->vips, x));
        }
        checked = true;
    };
    step.add([&](const OwnedAliases& intent) { recorded = intent; });
    CHECK(checked);
    CHECK(recorded->interface == "eth1");
    CHECK(recorded->vips ==
          std::vector<IpAddress>{ip("10.39.84.131"), ip("10.39.84.132"), ip("2001:db8::131")});
    CHECK(step.errors.empty());
    CHECK(step.owned().vips == recorded->vips);
    CHECK(step.done.size() == 2);
}

TEST_CASE("aliases: a run killed after recording leaves nothing the next run will not remove") {
    FakeAddresses kernel;
    const int eth1 = kernel.interface("eth1");
    OwnedAliases record;
    {
        AliasStep killed(kernel, eth1, "eth1", {ip("10.39.84.131")}, {});
        killed.add([&](const OwnedAliases& intent) { record = intent; });
        // ... killed here: the record at the end of the run is never written.
    }
    REQUIRE(kernel.has("eth1", ip("10.39.84.131")));
    AliasStep next(kernel, eth1, "eth1", {}, record);
    REQUIRE(next.plan().remove.size() == 1);
    next.remove();
    CHECK_FALSE(kernel.has("eth1", ip("10.39.84.131")));
    CHECK(next.owned().vips.empty());
    CHECK(next.errors.empty());
}

TEST_CASE("aliases: one recorded but never added (or gone meanwhile) harms nothing") {
    FakeAddresses kernel;
    const int eth1 = kernel.interface("eth1");
    kernel.addresses_of[eth1] = {{ip("10.39.84.132"), 32}};
    // .131 was recorded and the run killed before adding it; .132 goes while this run plans.
    AliasStep step(kernel, eth1, "eth1", {},
                   {"eth1", {ip("10.39.84.131"), ip("10.39.84.132")}, {}});
    CHECK(step.plan().add.empty());
    REQUIRE(step.plan().remove.size() == 1);
    kernel.addresses_of[eth1].clear();
    step.remove();  // EADDRNOTAVAIL: already what was wanted
    CHECK(step.errors.empty());
    CHECK(step.owned().vips.empty());  // and .131, never there, is forgotten
}

TEST_CASE("aliases: an interface move keeps the old aliases recorded until they are removed") {
    FakeAddresses kernel;
    const int eth1 = kernel.interface("eth1");
    const int eth2 = kernel.interface("eth2");
    kernel.addresses_of[eth1] = {
        {ip("10.39.94.41"), 24}, {ip("10.39.84.131"), 32}, {ip("10.39.84.132"), 32}};
    kernel.refuse[ip("10.39.84.132")] = EPERM;
    AliasStep step(kernel, eth2, "eth2", {ip("10.39.84.131")},
                   {"eth1", {ip("10.39.84.131"), ip("10.39.84.132")}, {}});
    CHECK(step.leaving() == std::vector<IpAddress>{ip("10.39.84.132")});
    OwnedAliases intent;
    step.add([&](const OwnedAliases& a) { intent = a; });
    CHECK(intent.interface == "eth2");
    CHECK(intent.vips == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(intent.former.at("eth1") ==
          std::vector<IpAddress>{ip("10.39.84.131"), ip("10.39.84.132")});
    step.remove();
    CHECK(kernel.has("eth2", ip("10.39.84.131")));
    CHECK_FALSE(kernel.has("eth1", ip("10.39.84.131")));
    CHECK(kernel.has("eth1", ip("10.39.94.41")));  // the LB's own address stays
    // The refused one stays recorded for the next run, and the refusal is told apart.
    CHECK(step.owned().former.at("eth1") == std::vector<IpAddress>{ip("10.39.84.132")});
    CHECK(step.refused);
    REQUIRE(step.errors.size() == 1);
    CHECK(step.errors[0].find("remove address 10.39.84.132/32 from eth1") != std::string::npos);

    // Once it can go, it goes; and a record naming an interface that is gone is forgotten.
    kernel.refuse.clear();
    auto owned = step.owned();
    owned.former["eth9"] = {ip("10.39.84.140")};
    AliasStep again(kernel, eth2, "eth2", {ip("10.39.84.131")}, owned);
    again.add([](const OwnedAliases&) { FAIL("nothing to add"); });
    again.remove();
    CHECK_FALSE(kernel.has("eth1", ip("10.39.84.132")));
    CHECK(again.owned().former.empty());
    CHECK(again.errors.empty());
}
