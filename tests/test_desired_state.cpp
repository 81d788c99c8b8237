#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/protocol/desired_state.h"

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

TEST_CASE("the JSON document has the shape of docs/agent-protocol.md") {
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
    // A backup LB and ha = vrrp (the default): keepalived places the website IPs.
    CHECK(doc["ha"] == "vrrp");
    CHECK(doc.size() == 9);
    // The monitor's settings: every destination's address with its server's management address.
    const auto& checks = doc["checks"];
    CHECK(checks["interval"] == 10);
    CHECK(checks["port"] == 80);
    CHECK(checks["send"] == "GET / HTTP/1.0\r\n\r\n");
    CHECK(checks["expect"] == "HTTP");
    CHECK(checks["use_regex"] == false);
    CHECK(checks["quiesce"] == false);
    CHECK(checks["load_scale"] == 10);
    CHECK_FALSE(checks.contains("program"));
    REQUIRE(checks["servers"].size() == 4);
    CHECK(checks["servers"][2] ==
          json{{"address", "2001:db8:84::43"}, {"mgmt_address", "10.39.94.43"}});
}

TEST_CASE("the checks follow the cluster's columns, and read back the same") {
    auto c = lvsctl::testing::dual_stack_cluster();
    c.check_interval = 2;
    c.check_port = 8080;
    c.check_send.reset();
    c.check_expect = "HTTP/1\\.[01] 200";
    c.check_use_regex = true;
    c.check_program = "/usr/lib/lvsctl/check --host %h";
    c.quiesce_server = true;
    c.load_monitor = "/usr/sbin/h2e_get_cluster_load.sh";
    c.load_scale = 4;
    const auto s = desired_state(c, c.load_balancers[0], 30);
    REQUIRE(s.checks);
    CHECK(s.checks->interval == 2);
    CHECK(s.checks->port == 8080);
    CHECK(s.checks->send.empty());  // connect only
    CHECK(s.checks->use_regex);
    CHECK(s.checks->program == "/usr/lib/lvsctl/check --host %h");
    CHECK(s.checks->quiesce);
    CHECK(s.checks->load_scale == 4);
    const auto back = parse_desired_state(to_json(s));
    REQUIRE(back.checks);
    CHECK(*back.checks == *s.checks);
}

namespace {
std::string refusal(const std::string& text) {
    try {
        parse_desired_state(text);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("accepted: " << text);
    return {};
}

// The docs/agent-protocol.md example with one part replaced.
std::string spec_example(const std::string& from = "", const std::string& to = "") {
    std::string doc = R"({
  "version": 1,
  "cluster": {"id": 7, "name": "Shop", "serial": 12},
  "interface": "eth1",
  "website_ips": ["10.39.84.131", "2001:db8:84::131"],
  "marks": {"fwmark": 77, "protocol": "tcp", "ports": [80, 443]},
  "services": [
    {"family": "inet", "fwmark": 77, "scheduler": "wrr", "persistence": 0,
     "destinations": [
       {"address": "10.39.84.43", "port": 0, "forwarding": "route", "weight": 1}
     ]},
    {"family": "inet6", "fwmark": 77, "scheduler": "wrr", "persistence": 0,
     "destinations": [
       {"address": "2001:db8:84::43", "port": 0, "forwarding": "route", "weight": 1}
     ]}
  ],
  "drain_timeout": 30
})";
    if (!from.empty()) {
        const auto at = doc.find(from);
        REQUIRE(at != std::string::npos);
        doc.replace(at, from.size(), to);
    }
    return doc;
}
}  // namespace

TEST_CASE("the documented example reads, and what we write reads back the same") {
    const auto s = parse_desired_state(spec_example());
    CHECK(s.cluster_id == 7);
    CHECK(s.cluster_name == "Shop");
    CHECK(s.fwmark == 77);
    CHECK(s.ports == std::vector<std::uint16_t>{80, 443});
    REQUIRE(s.services.size() == 2);
    CHECK(s.services[1].destinations[0].address == ip("2001:db8:84::43"));
    CHECK(to_json(parse_desired_state(to_json(s))) == to_json(s));

    const auto c = lvsctl::testing::dual_stack_cluster();
    const auto written = to_json(desired_state(c, c.load_balancers[0], 12));
    CHECK(to_json(parse_desired_state(written)) == written);
}

TEST_CASE("bad documents are refused, naming the key") {
    CHECK(refusal("{").starts_with("desired state: not JSON:"));
    CHECK(refusal(spec_example("\"drain_timeout\": 30", "\"drain_timeout\": 30, \"colour\": 1")) ==
          "desired state: colour: unknown key");
    CHECK(refusal(spec_example("\"version\": 1,", "")) == "desired state: version: missing");
    CHECK(refusal(spec_example("\"fwmark\": 77, \"protocol\"", "\"fwmark\": 0, \"protocol\"")) ==
          "desired state: marks.fwmark: 0 is outside 1..4294967295");
    CHECK(refusal(spec_example("\"weight\": 1}\n     ]},\n    {\"family\": \"inet6\"",
                               "\"weight\": 65536}\n     ]},\n    {\"family\": \"inet6\"")) ==
          "desired state: services[0].destinations[0].weight: 65536 is outside 0..65535");
    CHECK(
        refusal(spec_example("\"address\": \"10.39.84.43\"", "\"address\": \"2001:db8::43\"")) ==
        "desired state: services[0].destinations[0].address: 2001:db8::43 is not an IPv4 address");
    CHECK(refusal(spec_example("\"weight\": 1}\n     ]},\n    {\"family\": \"inet6\"",
                               "\"weight\": \"1\"}\n     ]},\n    {\"family\": \"inet6\"")) ==
          "desired state: services[0].destinations[0].weight: expected a whole number");
    CHECK(refusal(spec_example("\"eth1\"", "\"eth1; reboot\"")) ==
          "desired state: interface: \"eth1; reboot\" is not an interface name");
    CHECK(refusal(spec_example("\"10.39.84.131\", ", "\"10.39.84.131\", \"10.39.84.131\", ")) ==
          "desired state: website_ips[1]: 10.39.84.131 is listed twice");
    CHECK(refusal(spec_example("\"scheduler\": \"wrr\"", "\"scheduler\": \"best\"")) ==
          "desired state: services[0].scheduler: unknown IPVS scheduler \"best\"");
    CHECK(refusal(spec_example("\"family\": \"inet6\"", "\"family\": \"inet\"")) ==
          "desired state: services[1]: a second service with this family and fwmark");
    CHECK(refusal(spec_example("\"serial\": 12", "\"serial\": 12.5")) ==
          "desired state: cluster.serial: expected a whole number");
    CHECK(refusal("[]") == "desired state: expected an object");
    // A service of another mark than the one the agent marks packets with would see none.
    CHECK(refusal(spec_example("{\"family\": \"inet6\", \"fwmark\": 77",
                               "{\"family\": \"inet6\", \"fwmark\": 78")) ==
          "desired state: services[1].fwmark: 78 is not marks.fwmark (77)");
}

TEST_CASE("bad checks are refused, naming the key; documents without checks have none") {
    CHECK_FALSE(parse_desired_state(spec_example()).checks);
    const std::string checks = R"(,
  "checks": {"interval": 10, "timeout": 10, "reentry": 10, "port": 80, "send": "GET /",
             "expect": "HTTP", "use_regex": false, "quiesce": false, "load_scale": 10,
             "servers": [{"address": "10.39.84.43", "mgmt_address": "10.39.94.43"},
                         {"address": "2001:db8:84::43", "mgmt_address": "10.39.94.43"}]}
})";
    const auto with = [&](const std::string& from = "", const std::string& to = "") {
        auto doc = spec_example("\n}", checks);
        if (!from.empty()) {
            const auto at = doc.find(from);
            REQUIRE(at != std::string::npos);
            doc.replace(at, from.size(), to);
        }
        return doc;
    };
    const auto s = parse_desired_state(with());
    REQUIRE(s.checks);
    CHECK(s.checks->servers.size() == 2);
    CHECK(refusal(with("\"interval\": 10", "\"interval\": 0")) ==
          "desired state: checks.interval: 0 is outside 1..86400");
    CHECK(refusal(with("\"use_regex\": false", "\"use_regex\": true, \"x\": 1")) ==
          "desired state: checks.x: unknown key");
    CHECK(refusal(with("\"expect\": \"HTTP\", \"use_regex\": false",
                       "\"expect\": \"HTTP(\", \"use_regex\": true"))
              .starts_with("desired state: checks.expect: \"HTTP(\" is not a POSIX extended"));
    CHECK(
        refusal(with("\"load_scale\": 10", "\"load_scale\": 10, \"program\": \"check; reboot\"")) ==
        "desired state: checks.program: \"check; reboot\" is not a program path and arguments "
        "without a shell's characters");
    CHECK(refusal(with("\"load_scale\": 10",
                       "\"load_scale\": 10, \"load_monitor\": \"/bin/load %h\"")) ==
          "desired state: checks.load_monitor: \"/bin/load %h\" is not an absolute program path "
          "of letters, digits and _ . / + -");
    CHECK(refusal(with("{\"address\": \"2001:db8:84::43\", \"mgmt_address\": \"10.39.94.43\"}",
                       "{\"address\": \"2001:db8:84::44\", \"mgmt_address\": \"10.39.94.43\"}")) ==
          "desired state: checks.servers[1].address: 2001:db8:84::44 is not a destination");
    CHECK(refusal(with(",\n                         {\"address\": \"2001:db8:84::43\", "
                       "\"mgmt_address\": \"10.39.94.43\"}",
                       "")) ==
          "desired state: checks.servers: destination 2001:db8:84::43 is not listed");
    CHECK(refusal(with("\"use_regex\": false", "\"use_regex\": 0")) ==
          "desired state: checks.use_regex: expected true or false");
}

TEST_CASE("a number too large for any type is bad input, not a crash (found by the fuzzer)") {
    CHECK_THROWS_WITH_AS(
        parse_desired_state(
            R"({"version": 6666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666e9999})"),
        doctest::Contains("desired state: not JSON"), Error);
}

TEST_CASE("\"ha\": \"vrrp\" only with VRRP; it reads back; other values are refused") {
    auto c = lvsctl::testing::dual_stack_cluster();
    const auto vrrp = desired_state(c, c.load_balancers[0], 30);
    CHECK(vrrp.vrrp);
    CHECK(parse_desired_state(to_json(vrrp)).vrrp);
    c.ha = Ha::external;
    const auto external = to_json(desired_state(c, c.load_balancers[0], 30));
    CHECK_FALSE(json::parse(external).contains("ha"));
    CHECK_FALSE(parse_desired_state(external).vrrp);
    auto doc = json::parse(external);
    doc["ha"] = "external";
    CHECK_FALSE(parse_desired_state(doc.dump()).vrrp);
    doc["ha"] = "carp";
    CHECK_THROWS_WITH(parse_desired_state(doc.dump()),
                      "desired state: ha: \"carp\" is not vrrp or external");
    doc["ha"] = 1;
    CHECK_THROWS_AS(parse_desired_state(doc.dump()), Error);
}

namespace {
// The example with the IPv4 service's destinations (and checked servers) replaced.
json with_destinations(const std::vector<std::string>& addresses) {
    auto doc = json::parse(spec_example());
    auto& dests = doc["services"][0]["destinations"];
    dests = json::array();
    json servers = json::array();
    for (const auto& a : addresses) {
        dests.push_back({{"address", a}, {"port", 0}, {"forwarding", "route"}, {"weight", 3}});
        servers.push_back({{"address", a}, {"mgmt_address", a}});
    }
    servers.push_back({{"address", "2001:db8:84::43"}, {"mgmt_address", "10.39.94.43"}});
    doc["checks"] = {{"interval", 10},     {"timeout", 10},    {"reentry", 10},
                     {"port", 80},         {"send", ""},       {"expect", ""},
                     {"use_regex", false}, {"quiesce", false}, {"load_scale", 10},
                     {"servers", servers}};
    return doc;
}
}  // namespace

TEST_CASE("the long lists are read as they come, in any order, from a string or a stream") {
    // Unsorted destinations: repeats and checked servers are still found (desired_state() sorts
    // them; a document from elsewhere need not).
    const auto unsorted = with_destinations({"10.0.0.9", "10.0.0.2", "10.0.0.5"});
    const auto s = parse_desired_state(unsorted.dump());
    REQUIRE(s.services[0].destinations.size() == 3);
    CHECK(s.services[0].destinations[0].address == ip("10.0.0.9"));  // the document's order
    CHECK(s.checks->servers.size() == 4);
    std::istringstream stream(unsorted.dump(2));
    CHECK(to_json(parse_desired_state(stream)) == to_json(s));

    // The first repeat in the document's order is named, sorted or not.
    CHECK(refusal(with_destinations({"10.0.0.9", "10.0.0.2", "10.0.0.5", "10.0.0.2", "10.0.0.9"})
                      .dump()) ==
          "desired state: services[0].destinations[3].address: 10.0.0.2 is listed twice");
    CHECK(refusal(with_destinations({"10.0.0.1", "10.0.0.2", "10.0.0.2"}).dump()) ==
          "desired state: services[0].destinations[2].address: 10.0.0.2 is listed twice");
    auto twice = with_destinations({"10.0.0.9", "10.0.0.2"});
    twice["checks"]["servers"].push_back({{"address", "10.0.0.9"}, {"mgmt_address", "10.0.0.9"}});
    CHECK(refusal(twice.dump()) ==
          "desired state: checks.servers[3].address: 10.0.0.9 is listed twice");
    auto missing = with_destinations({"10.0.0.9", "10.0.0.2", "10.0.0.5"});
    missing["checks"]["servers"].erase(1);
    CHECK(refusal(missing.dump()) ==
          "desired state: checks.servers: destination 10.0.0.2 is not listed");

    // An element is checked where it stands; the same key elsewhere is no long list.
    auto bad = with_destinations({"10.0.0.1", "10.0.0.2"});
    bad["services"][0]["destinations"][1]["port"] = "80";
    CHECK(refusal(bad.dump()) ==
          "desired state: services[0].destinations[1].port: expected a whole number");
    bad = with_destinations({"10.0.0.1"});
    bad["checks"]["servers"][0]["colour"] = 1;
    CHECK(refusal(bad.dump()) == "desired state: checks.servers[0].colour: unknown key");
    CHECK(refusal(spec_example("\"drain_timeout\": 30",
                               "\"drain_timeout\": 30, \"destinations\": []")) ==
          "desired state: destinations: unknown key");
    CHECK(refusal(spec_example("\"website_ips\": [\"10.39.84.131\", ",
                               "\"website_ips\": [[\"10.39.84.131\"], ")) ==
          "desired state: website_ips[0]: expected a string");
}

TEST_CASE("a key given twice is refused, not silently the last one") {
    CHECK(refusal(spec_example("\"name\": \"Shop\"", "\"name\": \"Shop\", \"name\": \"Bar\"")) ==
          "desired state: cluster.name: given twice");
    CHECK(refusal(spec_example(
              "\"weight\": 1}\n     ]},\n    {\"family\": \"inet6\"",
              "\"weight\": 1, \"weight\": 2}\n     ]},\n    {\"family\": \"inet6\"")) ==
          "desired state: services[0].destinations[0].weight: given twice");
    CHECK(refusal(spec_example("\"version\": 1,", "\"version\": 1, \"version\": 1,")) ==
          "desired state: version: given twice");
}

TEST_CASE("write_json hands the document over in pieces that join to to_json's text") {
    auto doc = with_destinations({});
    auto& dests = doc["services"][0]["destinations"];
    auto& servers = doc["checks"]["servers"];
    for (int i = 0; i < 3000; ++i) {  // ~250 KB: several pieces
        const auto a = fmt::format("10.1.{}.{}", i / 256, i % 256);
        dests.push_back({{"address", a}, {"port", 0}, {"forwarding", "route"}, {"weight", 3}});
        servers.push_back({{"address", a}, {"mgmt_address", a}});
    }
    const auto s = parse_desired_state(doc.dump());
    std::vector<std::string> pieces;
    write_json(s, [&](std::string_view p) { pieces.emplace_back(p); });
    CHECK(pieces.size() > 2);
    std::string joined;
    for (const auto& p : pieces) {
        CHECK(p.size() <= 65 * 1024);
        joined += p;
    }
    CHECK(joined == to_json(s));
    CHECK(to_json(parse_desired_state(joined)) == joined);
}
