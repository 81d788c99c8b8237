#include <doctest/doctest.h>

#include "fixtures.h"
#include "lvsctl/vip_plan.h"

using namespace lvsctl;
using lvsctl::testing::ip;

TEST_CASE("aliases: add the missing ones, remove only the ones the agent placed") {
    const std::vector<InterfaceAddress> present = {
        {ip("10.39.94.41"), 24},   // the LB's own address
        {ip("192.0.2.7"), 32},     // someone else's alias
        {ip("10.39.84.131"), 32},  // ours, still wanted
        {ip("10.39.84.132"), 32},  // ours, no longer wanted
    };
    const auto plan = plan_vips({ip("10.39.84.131"), ip("2001:db8::131")}, present,
                                {ip("10.39.84.131"), ip("10.39.84.132"), ip("10.39.84.133")});
    CHECK(plan.add == std::vector<IpAddress>{ip("2001:db8::131")});
    REQUIRE(plan.remove.size() == 1);  // .133 is owned but already gone: nothing to do
    CHECK(plan.remove[0].address == ip("10.39.84.132"));
    CHECK(plan.remove[0].prefix == 32);
}

TEST_CASE("aliases: the LB's own address is never removed, even when it was once owned") {
    const auto plan = plan_vips({}, {{ip("10.39.94.41"), 24}}, {ip("10.39.94.41")});
    CHECK(plan.remove.empty());
}

TEST_CASE("aliases: a converged interface gives an empty plan") {
    const auto plan = plan_vips({ip("10.39.84.131"), ip("2001:db8::131")},
                                {{ip("10.39.84.131"), 32}, {ip("2001:db8::131"), 128}},
                                {ip("10.39.84.131"), ip("2001:db8::131")});
    CHECK(plan.add.empty());
    CHECK(plan.remove.empty());
}
