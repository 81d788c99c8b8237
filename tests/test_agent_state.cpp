#include <doctest/doctest.h>

#include "fixtures.h"
#include "lvsctl/agent_state.h"
#include "lvsctl/error.h"

using namespace lvsctl;
using lvsctl::testing::ip;

TEST_CASE("the agent's record survives a round trip, digests included") {
    AgentState state;
    state.services = {ServiceKey::fwmark_service(Family::inet, 100),
                      ServiceKey::fwmark_service(Family::inet6, 100)};
    state.interface = "eth0";
    state.vips = {ip("10.39.84.48"), ip("2001:db8::48")};
    state.marks = {100};
    state.marks_via = "nft";
    state.digests[state.services[0]] = "0123456789abcdef";
    state.digests[state.services[1]] = "fedcba9876543210";
    state.last_full = 1795000000;
    ServiceKey tcp;  // the library also reconciles address:port services
    tcp.family = Family::inet6;
    tcp.protocol = 6;
    tcp.address = ip("2001:db8::80");
    tcp.port = 443;
    state.digests[tcp] = "00000000000000aa";
    const auto back = parse_agent_state(to_json(state), "agent-state.json");
    CHECK(back.services == state.services);
    CHECK(back.interface == "eth0");
    CHECK(back.vips == state.vips);
    CHECK(back.marks == state.marks);
    CHECK(back.marks_via == "nft");
    CHECK(back.digests == state.digests);
    CHECK(back.last_full == 1795000000);
}

TEST_CASE("a record from before digests reads as one with none: the next run is a full one") {
    const auto state = parse_agent_state(
        R"({"version": 1, "services": [{"family": "inet", "fwmark": 100}], "interface": "eth0",
            "vips": [], "marks": [100], "marks_via": "iptables"})",
        "old.json");
    CHECK(state.services.size() == 1);
    CHECK(state.digests.empty());
    CHECK(state.last_full == 0);
}

TEST_CASE("a damaged record is an error naming the file") {
    CHECK_THROWS_WITH_AS(
        parse_agent_state(
            R"({"version": 1, "services": [], "digests": [{"family": "inet", "fwmark": 0, "digest": "x"}]})",
            "/var/lib/lvsctl/agent-state.json"),
        doctest::Contains("/var/lib/lvsctl/agent-state.json: a service that is not"), Error);
}
