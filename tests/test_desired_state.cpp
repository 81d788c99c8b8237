#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "lvsctl/desired_state.h"

using namespace lvsctl;
using lvsctl::testing::ip;
using nlohmann::json;

TEST_CASE("an IPv4-only cluster gets one IPv4 fwmark service") {
    auto c = lvsctl::testing::seed_cluster();
    c.servers[0].address_v6 = ip("2001:db8::43");  // no IPv6 website IP: still no IPv6 service
    const auto s = desired_state(c, c.load_balancers[0], 30);
    REQUIRE(s.services.size() == 1);
    CHECK(s.services[0].family == Family::inet);
    CHECK(s.services[0].fwmark == 100);
    CHECK(s.services[0].scheduler == "lblc");
    REQUIRE(s.services[0].destinations.size() == 2);
    CHECK(s.services[0].destinations[0].address == ip("10.39.84.43"));
    CHECK(s.services[0].destinations[0].port == 0);
    CHECK(s.services[0].destinations[0].weight == 32);
}

TEST_CASE("IPv6 website IPs add the IPv6 service; inactive servers stay with weight 0") {
    auto c = lvsctl::testing::dual_stack_cluster();
    c.servers[0].active = false;
    const auto s = desired_state(c, *c.backup(), 0);
    REQUIRE(s.services.size() == 2);
    CHECK(s.services[1].family == Family::inet6);
    CHECK(s.services[1].destinations.size() == 2);
    CHECK(s.services[1].destinations[0].address == ip("2001:db8:84::43"));
    CHECK(s.services[0].destinations[0].weight == 0);
    CHECK(s.services[1].destinations[0].weight == 0);
    CHECK(s.services[1].destinations[1].weight == 32);
    CHECK(s.drain_timeout == 0);
}

TEST_CASE("the JSON document has the shape of SPEC.md section 6") {
    auto c = lvsctl::testing::dual_stack_cluster();
    c.id = 7;
    c.name = "Shop";
    c.serial = 12;
    c.fwmark = 77;
    c.scheduler = "wrr";
    c.load_balancers[0].vip_interface = "bond0";
    const auto doc = json::parse(to_json(desired_state(c, c.load_balancers[0], 30)));
    CHECK(doc["version"] == 1);
    CHECK(doc["cluster"] == json{{"id", 7}, {"name", "Shop"}, {"serial", 12}});
    CHECK(doc["interface"] == "bond0");
    CHECK(doc["website_ips"] == json{"10.39.84.131", "2001:db8:84::131"});
    CHECK(doc["marks"] == json{{"fwmark", 77}, {"protocol", "tcp"}, {"ports", {80}}});
    CHECK(doc["drain_timeout"] == 30);
    REQUIRE(doc["services"].size() == 2);
    CHECK(doc["services"][1]["family"] == "inet6");
    CHECK(doc["services"][0]["destinations"][1] ==
          json{{"address", "10.39.84.44"}, {"port", 0}, {"forwarding", "route"}, {"weight", 32}});
    CHECK(doc.size() == 7);
}
