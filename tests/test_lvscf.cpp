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
std::string parse_error(const std::string& text, const ImportHints& hints = {}) {
    try {
        parse_lvs_cf(text, "test.cf", hints);
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("parsed without an error: " << text);
    return {};
}

const char* const kHeader = "serial_no = 3\nnetwork = direct\nprimary = 10.0.0.1\nservice = lvs\n";

std::filesystem::path sample(const std::string& name) {
    return lvsctl::testing::source_dir() / "tests" / "lvscf" / name;
}

// Host names as a resolver would have them: the test's own table.
ImportHints table_hints() {
    ImportHints hints;
    hints.resolve = [](std::string_view name) -> std::optional<IpAddress> {
        if (name == "lb1.example.net") {
            return ip("192.0.2.1");
        }
        return std::nullopt;
    };
    return hints;
}

// What render --from-lvscf does with a file: read it, render it, and read the rendering again,
// which must be the same cluster (what piranha reads is the same configuration) and render to the
// same text.
Imported round_trip(const std::string& text, const ImportHints& hints) {
    const templates::Renderer renderer(lvsctl::testing::template_dir());
    auto parsed = parse_lvs_cf(text, "sample.cf", hints);
    INFO(lvsctl::testing::describe(parsed.cluster));
    REQUIRE(validate(parsed.cluster).empty());
    const auto rendered = renderer.lvs_cf(parsed.cluster);
    INFO(rendered);
    auto again = parse_lvs_cf(rendered, "rendered.cf", hints);
    CHECK(lvsctl::testing::describe(again.cluster) == lvsctl::testing::describe(parsed.cluster));
    CHECK(again.cluster.serial == parsed.cluster.serial);
    CHECK(renderer.lvs_cf(again.cluster) == rendered);
    return parsed;
}

}  // namespace

TEST_CASE("the seed article's lvs.cf reads into the seed cluster") {
    const auto parsed =
        parse_lvs_cf(lvsctl::testing::read_file(lvsctl::testing::golden("seed-lvs.cf")));
    const auto& c = parsed.cluster;
    CHECK(parsed.warnings.empty());
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
        CHECK(parsed.warnings.empty());
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

TEST_CASE("a piranha two-director file with pulse's settings keeps every one of them") {
    const auto parsed =
        round_trip(lvsctl::testing::read_file(sample("two-director.cf")), ImportHints{});
    const auto& c = parsed.cluster;
    CHECK(c.name == "www");
    CHECK(c.serial == 41);
    CHECK(c.forwarding == Forwarding::route);
    REQUIRE(c.primary() != nullptr);
    REQUIRE(c.backup() != nullptr);
    CHECK(c.backup()->mgmt_address == ip("192.168.10.3"));
    CHECK(c.primary()->vip_interface == "eth0");  // address = ... eth0:1
    CHECK(c.fwmark == 80);
    CHECK(c.persistence == 300);
    CHECK(c.check_interval == 6);
    CHECK(c.check_reentry == 15);
    CHECK_FALSE(c.load_monitor.has_value());  // nanny's "none"
    CHECK(c.website_ips == std::vector<IpAddress>{ip("192.168.10.80")});
    REQUIRE(c.servers.size() == 3);
    CHECK_FALSE(c.servers[2].active);
    CHECK(c.servers[2].weight == 50);
    const std::vector<LvsCfSetting> global = {
        {"primary_private", "10.11.12.2"},
        {"backup_private", "10.11.12.3"},
        {"heartbeat", "1"},
        {"heartbeat_port", "539"},
        {"keepalive", "6"},
        {"deadtime", "18"},
        {"debug_level", "NONE"},
        {"monitor_links", "1"},
        {"syncdaemon", "1"},
        {"syncd_iface", "eth1"},
        {"syncd_id", "5"},
        {"tcp_timeout", "900"},
        {"tcpfin_timeout", "120"},
        {"udp_timeout", "300"},
        {"reservation_conflict_action", "preempt"},
        {"hard_shutdown", "0"},
        {"active_cmd", "\"/usr/local/sbin/lb-active.sh\""},
        {"inactive_cmd", "\"/usr/local/sbin/lb-inactive.sh\""},
    };
    CHECK(c.lvscf.global == global);
    const std::vector<LvsCfSetting> virtual_settings = {{"vip_nmask", "255.255.255.0"},
                                                        {"pmask", "255.255.255.0"},
                                                        {"load_monitor", "none"},
                                                        {"sorry_server", "192.168.10.99"}};
    CHECK(c.lvscf.virtual_settings == virtual_settings);
    CHECK(c.lvscf.address_device == std::optional<std::string>("eth0:1"));
    CHECK_FALSE(c.lvscf.by_address);
    CHECK_FALSE(c.lvscf.inactive);
    // Each kept setting is named once, with its line.
    CHECK(std::count_if(parsed.warnings.begin(), parsed.warnings.end(), [](const auto& w) {
              return w.starts_with("line 10: heartbeat = 1: kept for the piranha backend");
          }) == 1);
}

TEST_CASE("CRLF, tabs, single quotes, hex, named ports, server names and a repeated key") {
    ImportHints hints;
    hints.servers.emplace("node1", ip("10.1.2.11"));
    hints.servers.emplace("node2", ip("10.1.2.12"));
    const auto text = lvsctl::testing::read_file(sample("crlf-named.cf"));
    REQUIRE(text.find("\r\n") != std::string::npos);
    const auto parsed = round_trip(text, hints);
    const auto& c = parsed.cluster;
    CHECK(c.name == "shop");
    CHECK(c.lvscf.virtual_name == std::optional<std::string>("shop"));
    CHECK(c.fwmark == 100);
    CHECK(c.ports == std::vector<std::int64_t>{80});
    CHECK(c.scheduler == "lblc");
    CHECK(c.forwarding == Forwarding::route);
    CHECK(c.check_send ==
          std::optional<std::string>("GET /health HTTP/1.0\r\nHost: \"shop\"\r\n\r\n"));
    CHECK(c.check_expect == std::optional<std::string>("200 OK"));
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[0].mgmt_address == ip("10.1.2.11"));
    CHECK(c.servers[0].address == ip("10.1.1.11"));
    CHECK(c.servers[0].lvscf_name == std::optional<std::string>("node1"));
    CHECK(c.servers[0].lvscf_settings == std::vector<LvsCfSetting>{{"port", "80"}});
    CHECK(c.servers[1].lvscf_settings.empty());
    CHECK(std::find(parsed.warnings.begin(), parsed.warnings.end(),
                    "line 5: service is given again (line 4): the last value counts, as in "
                    "piranha") != parsed.warnings.end());
    CHECK(std::find(parsed.warnings.begin(), parsed.warnings.end(),
                    "line 16: scheduler is given again in virtual shop (line 15): the last value "
                    "counts, as in piranha") != parsed.warnings.end());
    // The rendering quotes send with ' since it holds a ".
    const templates::Renderer renderer(lvsctl::testing::template_dir());
    CHECK(renderer.lvs_cf(c).find("    send = 'GET /health HTTP/1.0\\r\\nHost: \"shop\"") !=
          std::string::npos);
    // Without the hints, the names do not resolve and the reason says how to name them.
    CHECK(parse_error(text) ==
          "test.cf line 17: server node1: its name is not an IP address and does not resolve; "
          "give its management (SSH) address with --server node1=MGMT_IP");
}

TEST_CASE("piranha's sample: an address-based service, NAT, named servers, an inactive backup") {
    ImportHints hints;
    hints.address_as_management = true;  // what render --from-lvscf does
    const auto parsed = round_trip(lvsctl::testing::read_file(sample("by-address.cf")), hints);
    const auto& c = parsed.cluster;
    CHECK(c.name == "web1");
    CHECK(c.forwarding == Forwarding::masq);  // no network line: piranha's default
    CHECK(c.backup() == nullptr);             // backup_active = 0
    CHECK(c.lvscf.by_address);
    CHECK(c.fwmark == 100);  // what the ipvs backend would mark the address and port with
    CHECK(c.website_ips == std::vector<IpAddress>{ip("207.175.44.252")});
    CHECK_FALSE(c.load_monitor.has_value());
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[0].mgmt_address == ip("192.168.1.3"));
    CHECK(c.servers[0].lvscf_name == std::optional<std::string>("Web1"));
    const std::vector<LvsCfSetting> global = {
        {"rsh_command", "rsh"},
        {"backup_active", "0"},
        {"backup", "0.0.0.0"},
        {"heartbeat", "1"},
        {"heartbeat_port", "539"},
        {"keepalive", "4"},
        {"deadtime", "12"},
        {"nat_router", "192.168.1.254 eth1:1"},
        {"nat_nmask", "255.255.255.0"},
    };
    CHECK(c.lvscf.global == global);
    CHECK(c.lvscf.virtual_settings == std::vector<LvsCfSetting>{{"load_monitor", "uptime"}});
    const templates::Renderer renderer(lvsctl::testing::template_dir());
    const auto text = renderer.lvs_cf(c);
    CHECK(text.find("fwmark") == std::string::npos);
    CHECK(text.find("    address = 207.175.44.252 eth0:1\n") != std::string::npos);
    CHECK(text.find("    server Web1 {\n") != std::string::npos);
    CHECK(std::find(parsed.warnings.begin(), parsed.warnings.end(),
                    "line 14: virtual web1 has no fwmark: lvsctl's ipvs backend serves its "
                    "address and port by firewall mark 100") != parsed.warnings.end());
}

TEST_CASE("piranha's defaults for what a file leaves out") {
    const auto c = parse_lvs_cf(
                       "primary = 10.0.0.1\n"
                       "virtual web {\n"
                       " address = 192.0.2.10 eth0\n"
                       " server 10.0.0.5 {\n"
                       "  address = 10.0.1.5\n"
                       " }\n"
                       "}\n")
                       .cluster;
    CHECK(c.forwarding == Forwarding::masq);
    CHECK(c.scheduler == "wlc");
    CHECK(c.ports == std::vector<std::int64_t>{80});
    CHECK(c.protocol == "tcp");
    CHECK(c.check_interval == 10);
    CHECK(c.check_reentry == 180);
    CHECK(c.lvscf.inactive);  // no active = 1
    REQUIRE(c.servers.size() == 1);
    CHECK(c.servers[0].weight == 1);
    CHECK_FALSE(c.servers[0].active);  // no active = 1
    CHECK_FALSE(c.check_send.has_value());
}

TEST_CASE("host names resolve as piranha resolved them") {
    const auto parsed =
        parse_lvs_cf("primary = lb1.example.net\nnetwork = direct\nvirtual w {\n active = 1\n}\n",
                     "t.cf", table_hints());
    REQUIRE(parsed.cluster.primary() != nullptr);
    CHECK(parsed.cluster.primary()->mgmt_address == ip("192.0.2.1"));
    CHECK(parsed.warnings.front() == "line 1: primary = lb1.example.net: resolved to 192.0.2.1");
    CHECK(parse_error("primary = nowhere.example.net\n", table_hints()) ==
          "test.cf line 1: primary = nowhere.example.net: not an IP address, and the name does "
          "not resolve");
}

TEST_CASE("what piranha refuses is refused, naming the line and the reason") {
    const std::string v = std::string(kHeader) + "virtual web {\n";
    CHECK(parse_error("") == "test.cf: empty configuration (piranha refuses it too)");
    CHECK(parse_error(std::string(kHeader) + "bogus = 1\n") ==
          "test.cf line 5: unknown key 'bogus'");
    CHECK(parse_error("primary=10.0.0.1\n") ==
          "test.cf line 1: unknown key 'primary=10.0.0.1' ('=' must stand between blanks: key = "
          "value)");
    CHECK(parse_error("primary =10.0.0.1\n") ==
          "test.cf line 1: primary: '=' expected after the key, standing between blanks");
    CHECK(parse_error("primary = \n") ==
          "test.cf line 1: primary: missing arguments (a value expected)");
    CHECK(parse_error(std::string(kHeader) + "}\n") == "test.cf line 5: unknown key '}'");
    CHECK(parse_error(v + "} x\n") ==
          "test.cf line 6: '}' is followed by \"x\": unexpected arguments");
    CHECK(parse_error("primary = 0.0.0.0\n") ==
          "test.cf line 1: primary = 0.0.0.0: invalid host name or IP address");
    CHECK(parse_error("serial_no = 1x\n") == "test.cf line 1: serial_no = 1x: integer expected");
    CHECK(parse_error("heartbeat = 2\n") ==
          "test.cf line 1: heartbeat = 2: boolean (0 or 1) expected");
    CHECK(parse_error("network = bridge\n") ==
          "test.cf line 1: network = bridge: expected one of direct, nat, tunnel");
    CHECK(parse_error("reservation_conflict_action = maybe\n") ==
          "test.cf line 1: reservation_conflict_action = maybe: expected one of nothing, preempt");
    CHECK(parse_error("nat_nmask = 255.255.255.x\n") ==
          "test.cf line 1: nat_nmask = 255.255.255.x: an IPv4 address or netmask expected");
    CHECK(parse_error("nat_router = 10.0.0.1\n") ==
          "test.cf line 1: nat_router: missing arguments (an address and a device expected)");
    CHECK(parse_error(v + " port = gopher70\n}\n") ==
          "test.cf line 6: port = gopher70: a port number or a well-known service name expected");
    CHECK(parse_error(v + " scheduler = mh\n}\n") ==
          "test.cf line 6: scheduler = mh: expected one of lc, rr, wlc, wrr, lblc, lblcr, dh, sh");
    CHECK(parse_error(v + " send = \"GET /\n}\n") ==
          "test.cf line 6: quotation mismatch: \" is not closed on its line");
    CHECK(parse_error(v + " send = GET / HTTP/1.0\n}\n") ==
          "test.cf line 6: send = GET is followed by \"/\": unexpected arguments");
    CHECK(parse_error(v + " dirs = a b\n}\n") ==
          "test.cf line 6: dirs: a list '[ word ... ]' expected");
    CHECK(parse_error(v + "  weight = 3\n}\n") ==
          "test.cf line 6: unknown key 'weight' in virtual web");
    CHECK(parse_error(v + " server 10.0.0.5 {\n  color = red\n }\n}\n") ==
          "test.cf line 7: unknown key 'color' in server 10.0.0.5");
    CHECK(parse_error(v + " server 10.0.0.5\n") ==
          "test.cf line 6: expected 'server NAME {' with the brace on the same line");
    CHECK(parse_error(v + " server 10.0.0.5 {\n  server 10.0.0.6 {\n") ==
          "test.cf line 7: unknown key 'server' in server 10.0.0.5");
}

TEST_CASE("an end-of-line comment is refused as piranha refuses it, with a hint") {
    CHECK(parse_error("primary = 10.0.0.1 # the first LB\n") ==
          "test.cf line 1: primary = 10.0.0.1 is followed by a comment; piranha reads '#' as a "
          "comment only at the start of a line: move it to a line of its own");
    CHECK(parse_error(std::string(kHeader) + "virtual web {\n} # end\n") ==
          "test.cf line 6: '}' is followed by a comment; piranha reads '#' as a comment only at "
          "the start of a line: move it to a line of its own");
}

TEST_CASE("what lvsctl cannot hold is refused by name") {
    const std::string v4 =
        "virtual web-v4 {\n active = 1\n fwmark = 100\n scheduler = lblc\n"
        " server 10.0.0.5 {\n  address = 10.0.1.5\n  weight = 5\n }\n}\n";
    SUBCASE("failover services") {
        CHECK(parse_error(std::string(kHeader) + "failover ftp {\n active = 1\n}\n") ==
              "test.cf line 5: failover ftp: piranha's failover services (fos) are not load "
              "balancing; lvsctl does not run them");
        CHECK(parse_error("service = fos\n") ==
              "test.cf line 1: service = fos: piranha's failover services are not load "
              "balancing; lvsctl drives LVS only");
    }
    SUBCASE("two services of one family: HTTP and HTTPS") {
        CHECK(parse_error(std::string(kHeader) +
                          "virtual http {\n address = 192.0.2.1 eth0:1\n port = 80\n}\n"
                          "virtual https {\n address = 192.0.2.1 eth0:1\n port = 443\n}\n") ==
              "test.cf line 9: virtual https: a second IPv4 virtual (the first is http on line "
              "5); a cluster is one service per address family: join the ports with a firewall "
              "mark (docs/migration.md)");
    }
    SUBCASE("a different scheduler in the two families") {
        CHECK(parse_error(std::string(kHeader) + v4 +
                          "virtual web-v6 {\n active = 1\n fwmark = 100\n scheduler = wrr\n}\n") ==
              "test.cf line 14: virtual web-v6: scheduler differs from virtual web-v4 (line 5); "
              "both families of a cluster share it");
    }
    SUBCASE("a different weight") {
        CHECK(parse_error(std::string(kHeader) + v4 +
                          "virtual web-v6 {\n active = 1\n fwmark = 100\n scheduler = lblc\n"
                          " server 10.0.0.5 {\n  address = 2001:db8::5\n  weight = 6\n }\n}\n") ==
              "test.cf line 18: server 10.0.0.5: weight, active and port must be the same in the "
              "IPv4 and IPv6 virtuals");
    }
    SUBCASE("a server only in the IPv6 virtual") {
        CHECK(parse_error(std::string(kHeader) + v4 +
                          "virtual web-v6 {\n active = 1\n fwmark = 100\n scheduler = lblc\n"
                          " server 10.0.0.6 {\n  address = 2001:db8::6\n  weight = 5\n }\n}\n") ==
              "test.cf line 18: server 10.0.0.6 has an IPv6 address but no IPv4 one; list it in "
              "the IPv4 virtual too");
    }
    SUBCASE("an IPv6 address in the IPv4 virtual") {
        CHECK(
            parse_error(std::string(kHeader) +
                        "virtual web-v4 {\n server 10.0.0.5 {\n  address = 2001:db8::5\n }\n}\n") ==
            "test.cf line 7: server 10.0.0.5: address 2001:db8::5 is not of virtual web-v4's "
            "family");
    }
    SUBCASE("two clusters in one file") {
        CHECK(parse_error(std::string(kHeader) + v4 + "virtual shop-v6 {\n}\n") ==
              "test.cf line 14: virtual shop-v6 and virtual web-v4 belong to different clusters: "
              "the names differ beyond -v4 / -v6");
    }
    SUBCASE("a server named twice in one virtual") {
        CHECK(parse_error(std::string(kHeader) +
                          "virtual web {\n server 10.0.0.5 {\n }\n server 10.0.0.5 {\n }\n}\n") ==
              "test.cf line 8: server 10.0.0.5 is defined twice in virtual web (line 6); lvsctl "
              "keeps one server per name");
    }
}

TEST_CASE("a block left open at the end of the file is read as closed, as piranha does") {
    const auto parsed = parse_lvs_cf(std::string(kHeader) +
                                     "virtual web {\n active = 1\n fwmark = 7\n server 10.0.0.5 {\n"
                                     "  address = 10.0.1.5\n  active = 1\n");
    CHECK(parsed.cluster.fwmark == 7);
    REQUIRE(parsed.cluster.servers.size() == 1);
    CHECK(parsed.warnings ==
          std::vector<std::string>{"line 8: server 10.0.0.5 is not closed before the end of the "
                                   "file; piranha reads it as closed",
                                   "line 5: virtual web is not closed before the end of the file; "
                                   "piranha reads it as closed"});
}

TEST_CASE("kept settings from the database are checked before they reach lvs.cf") {
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"heartbeat", "1"}).empty());
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"nat_router", "10.0.0.1 eth1:1"}).empty());
    CHECK(lvscf_setting_problem(LvsCfScope::virtual_service, {"dirs", "[ /a /b ]"}).empty());
    CHECK(lvscf_setting_problem(LvsCfScope::server, {"port", "8080"}).empty());
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"heartbeat", "1\nprimary = 10.6.6.6"}) ==
          "a value cannot span lines");
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"heartbeat", "yes"}) ==
          "heartbeat = yes: boolean (0 or 1) expected");
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"scheduler", "rr"}) ==
          "\"scheduler\" is not an lvs.cf key lvsctl keeps here");
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"primary", "10.0.0.9"}) ==
          "\"primary\" is not an lvs.cf key lvsctl keeps here");
    CHECK(lvscf_setting_problem(LvsCfScope::virtual_service, {"active_cmd", "x"}) ==
          "\"active_cmd\" is not an lvs.cf key lvsctl keeps here");
    CHECK(lvscf_setting_problem(LvsCfScope::global, {"active_cmd", "\"/bin/x"}) ==
          "quotation mismatch: \" is not closed on its line");
    auto c = lvsctl::testing::seed_cluster();
    c.lvscf.global.push_back({"keepalive", "x"});
    c.servers[0].lvscf_name = "two words";
    const auto problems = validate(c);
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].object == "lvsctl_lvscf_settings cluster_id=1 scope=global");
    CHECK(problems[0].column == "keepalive");
    CHECK(problems[1].object == "lvsctl_lvscf_settings cluster_id=1 scope=server node_id=43");
}

TEST_CASE("service names for ports") {
    CHECK(service_port("http") == std::optional<std::int64_t>(80));
    CHECK(service_port("https") == std::optional<std::int64_t>(443));
    CHECK(service_port("8080") == std::optional<std::int64_t>(8080));
    CHECK(service_port("0x50") == std::optional<std::int64_t>(80));
    CHECK_FALSE(service_port("gopher70").has_value());
    CHECK_FALSE(service_port("").has_value());
}

TEST_CASE("every sample lvs.cf reads, renders, and reads back as the same configuration") {
    ImportHints hints;
    hints.address_as_management = true;  // what render --from-lvscf does
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(sample(""))) {
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 5);
    for (const auto& file : files) {
        CAPTURE(file);
        round_trip(lvsctl::testing::read_file(file), hints);
    }
}

TEST_CASE("a dual-stack file keeps its IPv6 virtual without website IPs") {
    const auto parsed = round_trip(lvsctl::testing::read_file(sample("dual-stack-kept.cf")), {});
    const auto& c = parsed.cluster;
    CHECK(c.lvscf.ipv6_virtual);
    CHECK(c.website_ips.empty());
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[1].address_v6 == ip("2001:db8:84::44"));
    CHECK_FALSE(c.servers[1].active);
    CHECK(c.lvscf.virtual_settings == std::vector<LvsCfSetting>{{"sorry_server", "10.39.84.200"}});
}

TEST_CASE("numbers as strtol reads them, named ports, and the failover keys of a virtual") {
    ImportHints hints;
    hints.servers.emplace("ns1", ip("172.16.2.1"));
    hints.servers.emplace("ns2", ip("172.16.2.2"));
    const auto parsed = round_trip(lvsctl::testing::read_file(sample("tunnel-udp.cf")), hints);
    const auto& c = parsed.cluster;
    CHECK(c.forwarding == Forwarding::tunnel);
    CHECK(c.protocol == "udp");
    CHECK(c.ports == std::vector<std::int64_t>{53});
    CHECK(c.fwmark == 53);
    CHECK(c.persistence == 60);
    CHECK(c.check_program == std::optional<std::string>("/usr/local/bin/check-dns %h"));
    CHECK(c.check_use_regex);
    CHECK(c.quiesce_server);
    CHECK(c.check_reentry == 0);
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[0].weight == 16);  // 0x10
    CHECK(c.servers[1].weight == 8);   // 010
    const std::vector<LvsCfSetting> kept = {
        {"pmask", "255.255.255.255"},
        {"client_monitor", "/usr/sbin/nanny"},
        {"start_cmd", "'/etc/init.d/named start'"},
        {"stop_cmd", "'/etc/init.d/named stop'"},
        {"master", "172.16.0.2"},
        {"dirs", "[ /var/named /etc/named ]"},
    };
    CHECK(c.lvscf.virtual_settings == kept);
    CHECK(c.lvscf.global == std::vector<LvsCfSetting>{{"debug_level", "\"NONE\""},
                                                      {"ipvsadm", "/sbin/ipvsadm"},
                                                      {"sync", "0"}});
}
