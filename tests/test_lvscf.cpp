#include <doctest/doctest.h>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

// The message of the Error a text raises; fails the test when it parses.
std::string parse_error(const std::string& text) {
    try {
        parse_lvs_cf(text, "test.cf");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("parsed without an error: " << text);
    return {};
}

const char* const kHeader = "serial_no = 3\nnetwork = direct\nprimary = 10.0.0.1\nservice = lvs\n";

}  // namespace

TEST_CASE("the seed article's lvs.cf reads into the seed cluster") {
    const auto parsed =
        parse_lvs_cf(lvsctl::testing::read_file(lvsctl::testing::golden("seed-lvs.cf")));
    const auto& c = parsed.cluster;
    CHECK(parsed.ignored.empty());
    CHECK(c.name == "Web-Cluster");
    CHECK(c.forwarding == Forwarding::route);
    REQUIRE(c.primary() != nullptr);
    CHECK(c.primary()->mgmt_address == ip("10.39.94.41"));
    CHECK(c.backup() == nullptr);
    CHECK(c.fwmark == 100);
    CHECK(c.scheduler == "lblc");
    CHECK(c.protocol == "tcp");
    CHECK(c.ports == std::vector<std::int64_t>{80});
    CHECK(c.check_send == std::optional<std::string>("GET / HTTP/1.0\r\n\r\n"));
    CHECK(c.check_expect == std::optional<std::string>("HTTP"));
    CHECK(c.check_timeout == 10);
    CHECK(c.check_reentry == 10);
    CHECK(c.load_monitor == std::optional<std::string>("/usr/sbin/h2e_get_cluster_load.sh"));
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[0].mgmt_address == ip("10.39.94.43"));
    CHECK(c.servers[0].address == ip("10.39.84.43"));
    CHECK(c.servers[0].weight == 32);
    CHECK(c.servers[0].active);
    CHECK(c.servers[1].address == ip("10.39.84.44"));
    CHECK(c.servers[0].node_id == 1);
    CHECK(c.servers[1].node_id == 2);
    CHECK(validate(c).empty());
}

TEST_CASE("render, parse, render again gives the same text") {
    const templates::Renderer renderer(lvsctl::testing::template_dir());
    auto check_round_trip = [&](Cluster c) {
        c.serial = 17;
        const auto first = renderer.lvs_cf(c);
        const auto parsed = parse_lvs_cf(first);
        CHECK(parsed.ignored.empty());
        CHECK(parsed.cluster.serial == 17);
        CHECK(validate(parsed.cluster).empty());
        CHECK(renderer.lvs_cf(parsed.cluster) == first);
    };
    SUBCASE("seed") {
        check_round_trip(lvsctl::testing::seed_cluster());
    }
    SUBCASE("dual stack with a backup LB") {
        // lvs.cf does not hold website IPs; the IPv6 virtual is there because the cluster has some.
        auto c = lvsctl::testing::dual_stack_cluster();
        const auto text = renderer.lvs_cf(c);
        CHECK(text.find("virtual Web-Cluster-v6 {") != std::string::npos);
        CHECK(text.find("backup = 10.39.94.42") != std::string::npos);
        const auto parsed = parse_lvs_cf(text).cluster;
        REQUIRE(parsed.servers.size() == 2);
        CHECK(parsed.servers[1].address_v6 == ip("2001:db8:84::44"));
        REQUIRE(parsed.backup() != nullptr);
        CHECK(parsed.backup()->mgmt_address == ip("10.39.94.42"));
        // With the IPv6 website IPs given back, the same file comes out.
        auto again = parsed;
        again.website_ips = c.website_ips;
        again.serial = c.serial;
        CHECK(renderer.lvs_cf(again) == text);
    }
    SUBCASE("persistence, NAT, an inactive server, no checks, no load monitor") {
        auto c = lvsctl::testing::seed_cluster();
        c.persistence = 300;
        c.forwarding = Forwarding::masq;
        c.servers[1].active = false;
        c.servers[1].weight = 7;
        c.check_send.reset();
        c.check_expect.reset();
        c.load_monitor.reset();
        c.scheduler = "wrr";
        check_round_trip(c);
    }
    SUBCASE(
        "the monitor's keys: send_program, use_regex, quiesce_server; timeout is the interval") {
        auto c = lvsctl::testing::seed_cluster();
        c.check_program = "/usr/lib/lvsctl/check-http --host %h";
        c.check_use_regex = true;
        c.check_expect = "HTTP/1.[01] 200";
        c.quiesce_server = true;
        c.check_interval = 6;
        c.check_timeout = 6;
        const auto text = renderer.lvs_cf(c);
        CHECK(text.find("    send_program = \"/usr/lib/lvsctl/check-http --host %h\"\n") !=
              std::string::npos);
        CHECK(text.find("    use_regex = 1\n") != std::string::npos);
        CHECK(text.find("    quiesce_server = 1\n") != std::string::npos);
        CHECK(text.find("    timeout = 6\n") != std::string::npos);
        const auto parsed = parse_lvs_cf(text).cluster;
        CHECK(parsed.check_program == c.check_program);
        CHECK(parsed.check_use_regex);
        CHECK(parsed.quiesce_server);
        CHECK(parsed.check_interval == 6);
        CHECK(parsed.check_timeout == 6);
        check_round_trip(c);
    }
}

TEST_CASE("syntax errors name the line") {
    CHECK(parse_error(std::string(kHeader) + "bogus = 1\n") ==
          "test.cf line 5: unknown key 'bogus'");
    CHECK(parse_error("primary=10.0.0.1\n") ==
          "test.cf line 1: expected 'key = value' with '=' standing alone");
    CHECK(parse_error("primary =10.0.0.1\n") ==
          "test.cf line 1: expected 'key = value' with '=' standing alone");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n  fwmark = 100\n") ==
          "test.cf line 5: virtual web is not closed by a lone '}'");
    CHECK(parse_error(std::string(kHeader) + "}\n") == "test.cf line 5: '}' without an open block");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n} x\n") ==
          "test.cf line 6: '}' must stand alone on its line");
    CHECK(parse_error("primary = 10.0.0.1\nprimary = 10.0.0.2\n") ==
          "test.cf line 2: primary is given twice");
    CHECK(parse_error("primary = 10.0.0\n") ==
          "test.cf line 1: primary = 10.0.0: not an IP address");
    CHECK(parse_error("serial_no = 1x\n") == "test.cf line 1: serial_no = 1x: not a whole number");
    CHECK(parse_error("network = bridge\n") ==
          "test.cf line 1: network = bridge: expected direct, nat or tunnel");
    CHECK(parse_error("service = fos\n") ==
          "test.cf line 1: service = fos: lvsctl drives LVS only");
    CHECK(parse_error(std::string(kHeader) + "server x {\n") ==
          "test.cf line 5: a server block must be directly inside a virtual block");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n send = \"GET /\n}\n") ==
          "test.cf line 6: a quoted string is not closed on its line");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n send = \"a\\qb\"\n}\n") ==
          "test.cf line 6: send: only \\r, \\n and \\t may follow a backslash");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n  weight = 3\n}\n") ==
          "test.cf line 6: unknown key 'weight' in virtual web");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n server 10.0.0.5 {\n  color = red\n"
                                             " }\n}\n") ==
          "test.cf line 7: unknown key 'color' in server 10.0.0.5");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n server 10.0.0.5 {\n  weight = 70000\n"
                                             " }\n}\n") ==
          "test.cf line 7: weight = 70000: not in 0..65535");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n server web1 {\n  address = 10.0.1.5\n"
                                             " }\n}\n") ==
          "test.cf line 6: server name web1 is not an IP address (lvsctl names servers by their "
          "management address)");
}

TEST_CASE("comments, blank lines and piranha settings lvsctl does not use") {
    const auto parsed = parse_lvs_cf(std::string("# written by piranha-gui\n\n") + kHeader +
                                     "heartbeat = 1\n"
                                     "   # indented comment\n"
                                     "virtual web-v4 {\n"
                                     "    fwmark = 7\n"
                                     "    address = 192.0.2.10 eth0:1\n"
                                     "    server 10.0.0.5 {\n"
                                     "        address = 10.0.1.5\n"
                                     "    }\n"
                                     "}\n");
    CHECK(parsed.ignored == std::vector<std::string>{"line 7: heartbeat"});
    const auto& c = parsed.cluster;
    CHECK(c.name == "web");
    CHECK(c.serial == 3);
    CHECK(c.fwmark == 7);
    CHECK(c.scheduler == "wlc");  // piranha's default
    CHECK(c.website_ips == std::vector<IpAddress>{ip("192.0.2.10")});
    REQUIRE(c.servers.size() == 1);
    CHECK(c.servers[0].weight == 1);  // piranha's default
    CHECK_FALSE(c.check_send.has_value());
}

TEST_CASE("the two families of a cluster must agree") {
    const std::string v4 =
        "virtual web-v4 {\n fwmark = 100\n scheduler = lblc\n"
        " server 10.0.0.5 {\n  address = 10.0.1.5\n  weight = 5\n }\n}\n";
    SUBCASE("a different scheduler") {
        CHECK(
            parse_error(std::string(kHeader) + v4 +
                        "virtual web-v6 {\n fwmark = 100\n scheduler = wrr\n}\n") ==
            "test.cf line 15: scheduler differs from line 7; both families of a cluster share it");
    }
    SUBCASE("a different weight") {
        CHECK(parse_error(std::string(kHeader) + v4 +
                          "virtual web-v6 {\n fwmark = 100\n scheduler = lblc\n"
                          " server 10.0.0.5 {\n  address = 2001:db8::5\n  weight = 6\n }\n}\n") ==
              "test.cf line 16: server 10.0.0.5: weight and active must be the same in the IPv4 "
              "and IPv6 virtuals");
    }
    SUBCASE("a server only in the IPv6 virtual") {
        CHECK(parse_error(std::string(kHeader) + v4 +
                          "virtual web-v6 {\n fwmark = 100\n scheduler = lblc\n"
                          " server 10.0.0.6 {\n  address = 2001:db8::6\n  weight = 5\n }\n}\n") ==
              "test.cf line 16: server 10.0.0.6 has an IPv6 address but no IPv4 one; list it in "
              "the IPv4 virtual too");
    }
    SUBCASE("an IPv6 address in the IPv4 virtual") {
        CHECK(
            parse_error(std::string(kHeader) +
                        "virtual web-v4 {\n server 10.0.0.5 {\n  address = 2001:db8::5\n }\n}\n") ==
            "test.cf line 6: server 10.0.0.5: address 2001:db8::5 is not of the virtual's family");
    }
    SUBCASE("two clusters in one file") {
        CHECK(parse_error(std::string(kHeader) + v4 + "virtual shop-v6 {\n}\n") ==
              "test.cf line 13: virtual shop-v6 and a virtual named web belong to different "
              "clusters");
    }
}
