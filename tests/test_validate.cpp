#include <doctest/doctest.h>

#include <algorithm>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/validate.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

// The one problem a broken cluster has, as text.
std::string only_problem(const Cluster& c) {
    const auto problems = validate(c);
    REQUIRE_MESSAGE(problems.size() == 1, "expected one problem");
    return problems.front().str();
}

}  // namespace

TEST_CASE("the seed article's cluster and a dual-stack cluster are valid") {
    CHECK(validate(lvsctl::testing::seed_cluster()).empty());
    CHECK(validate(lvsctl::testing::dual_stack_cluster()).empty());
}

TEST_CASE("each bad value is named by table, key and column") {
    auto c = lvsctl::testing::seed_cluster();

    SUBCASE("IPv6 address in the IPv4 column") {
        c.servers[1].address = ip("2001:db8::44");
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=44: column address: 2001:db8::44 is not an IPv4 address");
    }
    SUBCASE("a website IP that is a web server's management address") {
        c.website_ips.push_back(ip("10.39.94.44"));
        CHECK(only_problem(c) ==
              "h2e_cluster_ips cluster_id=1 address=10.39.94.44: column address: is the "
              "management address of apache_h2e_nodes node_id=44");
    }
    SUBCASE("IPv4 address in the IPv6 column") {
        c.servers[0].address_v6 = ip("10.1.1.1");
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=43: column address_v6: 10.1.1.1 is not an IPv6 address");
    }
    SUBCASE("two servers with one address") {
        c.servers[1].address = c.servers[0].address;
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=44: column address: 10.39.84.43 is also "
              "the address of apache_h2e_nodes node_id=43");
    }
    SUBCASE("duplicate node id") {
        c.servers[1].node_id = 43;
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=43: column node_id: two servers have "
              "this node_id");
    }
    SUBCASE("the monitor's columns") {
        c.check_interval = 0;
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column check_interval: 0 is not 1..86400 seconds");
        c.check_interval = 10;
        c.check_port = 70000;
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column check_port: 70000 is not a port (1..65535)");
        c.check_port.reset();
        c.load_scale = 0;
        CHECK(only_problem(c) == "h2e_clusters cluster_id=1: column load_scale: 0 is not 1..1000");
        c.load_scale = 10;
        c.check_program = "/usr/bin/check %h; rm -rf /";
        CHECK(only_problem(c).starts_with(
            "h2e_clusters cluster_id=1: column check_program: \"/usr/bin/check %h; rm -rf /\" is "
            "not an absolute program path and arguments"));
        c.check_program = "/usr/bin/check --host %h";
        c.check_use_regex = true;
        c.check_expect = "HTTP(";
        CHECK(
            only_problem(c).starts_with("h2e_clusters cluster_id=1: column check_expect: "
                                        "\"HTTP(\" is not a POSIX extended regular expression"));
        c.check_expect = "HTTP/1[.][01]";  // lvs.cf cannot quote a backslash
        CHECK(validate(c).empty());
    }
    SUBCASE("weight out of range") {
        c.servers[0].weight = 65536;
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=43: column weight: 65536 is outside 0..65535");
        c.servers[0].weight = -1;
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=43: column weight: -1 is outside 0..65535");
    }
    SUBCASE("weight at the limits is fine") {
        c.servers[0].weight = 0;
        c.servers[1].weight = 65535;
        CHECK(validate(c).empty());
    }
    SUBCASE("unknown scheduler") {
        c.scheduler = "fastest";
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column scheduler: unknown IPVS scheduler \"fastest\"");
    }
    SUBCASE("mark 0") {
        c.fwmark = 0;
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column fwmark: 0 is not a firewall mark (1..4294967295)");
    }
    SUBCASE("IPv6 website IP while a server lacks address_v6") {
        c.servers[0].address_v6 = ip("2001:db8::43");
        c.website_ips.push_back(ip("2001:db8::131"));
        CHECK(only_problem(c) ==
              "apache_h2e_nodes node_id=44: column address_v6: the cluster has IPv6 website IPs "
              "but this server has no IPv6 address");
    }
    SUBCASE("duplicate website IP") {
        c.website_ips.push_back(ip("10.39.84.131"));
        CHECK(only_problem(c) ==
              "h2e_cluster_ips cluster_id=1 address=10.39.84.131: column address: listed twice");
    }
    SUBCASE("website IP that is a real server's address") {
        c.website_ips.push_back(ip("10.39.84.44"));
        CHECK(only_problem(c) ==
              "h2e_cluster_ips cluster_id=1 address=10.39.84.44: column "
              "address: is also the real-server address of apache_h2e_nodes "
              "node_id=44");
    }
    SUBCASE("loopback website IP") {
        c.website_ips.push_back(ip("127.0.0.2"));
        CHECK(only_problem(c).starts_with(
            "h2e_cluster_ips cluster_id=1 address=127.0.0.2: column address: not a unicast"));
    }
    SUBCASE("interface names that could smuggle words into a command") {
        for (const char* bad :
             {"eth1; reboot", "eth 1", "", "a-very-long-interface", "..", "eth1/../lo", "$(id)"}) {
            CAPTURE(bad);
            c.load_balancers[0].vip_interface = bad;
            CHECK(only_problem(c).starts_with(
                "h2e_load_balancers cluster_id=1 role=primary: column vip_interface:"));
        }
        for (const char* good : {"eth1", "bond0.100", "enp3s0f1", "br-lb_1"}) {
            c.load_balancers[0].vip_interface = good;
            CHECK(validate(c).empty());
        }
    }
    SUBCASE("no primary load balancer") {
        c.load_balancers[0].role = Role::backup;
        CHECK(only_problem(c) ==
              "h2e_load_balancers cluster_id=1: column role: the cluster has no primary load "
              "balancer");
    }
    SUBCASE("two primaries") {
        c.load_balancers.push_back({Role::primary, ip("10.39.94.42"), 22, "eth1"});
        CHECK(only_problem(c) ==
              "h2e_load_balancers cluster_id=1 role=primary: column role: more "
              "than one load balancer has this role");
    }
    SUBCASE("unknown backend and unsafe exec path") {
        c.backend = "f5";
        CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column backend: unknown"));
        c.backend = "exec:relative/prog";
        CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column backend:"));
        c.backend = "exec:/usr/local/bin/f5 --x";
        CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column backend:"));
        c.backend = "exec:/usr/local/lib/lvsctl/f5-sync";
        CHECK(validate(c).empty());
    }
    SUBCASE("cluster names that lvs.cf cannot hold") {
        for (const char* bad : {"", "Web Cluster", "web{", "-web", "a\"b"}) {
            CAPTURE(bad);
            c.name = bad;
            CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column name:"));
        }
    }
    SUBCASE("a check string that would break lvs.cf's quoting") {
        c.check_send = "GET /\"x\" 'y' HTTP/1.0";
        CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column check_send:"));
        c.check_send = "GET /x\\n HTTP/1.0";  // a backslash lvs.cf would read as an escape
        CHECK(only_problem(c).starts_with("h2e_clusters cluster_id=1: column check_send:"));
    }
    SUBCASE("ports") {
        c.ports = {80, 80};
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column ports: port 80 is listed twice");
        c.ports = {};
        CHECK(only_problem(c) == "h2e_clusters cluster_id=1: column ports: no port to balance");
        c.ports = {70000};
        CHECK(only_problem(c) ==
              "h2e_clusters cluster_id=1: column ports: 70000 is not a port (1..65535)");
    }
}

TEST_CASE("validate_or_throw reports every problem with exit code 65") {
    auto c = lvsctl::testing::seed_cluster();
    c.fwmark = 0;
    c.servers[0].weight = 70000;
    try {
        validate_or_throw(c);
        FAIL("no exception");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        const std::string message = e.what();
        CHECK(message.starts_with("cluster 1: invalid data:\n"));
        CHECK(message.find("column fwmark") != std::string::npos);
        CHECK(message.find("column weight") != std::string::npos);
    }
}

TEST_CASE("VRRP (docs/ha.md): router ids and LBs no two VRRP clusters share, named") {
    auto c = lvsctl::testing::dual_stack_cluster();  // a backup LB, ha = vrrp
    REQUIRE(c.uses_vrrp());
    CHECK(c.router_id() == c.id);
    c.vrrp_neighbours.push_back({3, 1, {ip("10.39.95.41"), ip("10.39.95.42")}});
    CHECK(only_problem(c) ==
          "h2e_clusters cluster_id=1: column vrrp_router_id: 1 is also cluster 3's (VRRP router "
          "ids must differ among the clusters that use VRRP)");
    c.vrrp_router_id = 51;
    CHECK(validate(c).empty());
    c.vrrp_neighbours.back().load_balancers.push_back(ip("10.39.94.42"));
    CHECK(only_problem(c) ==
          "h2e_load_balancers cluster_id=1 role=backup: column mgmt_address: 10.39.94.42 is also "
          "a load balancer of cluster 3, which uses VRRP too: an LB's keepalived.conf is one "
          "cluster's (set ha = 'external' on one of them)");
    c.ha = Ha::external;  // someone else's arbitration: nothing to share
    CHECK(validate(c).empty());
    c.vrrp_router_id = 256;
    CHECK(only_problem(c) == "h2e_clusters cluster_id=1: column vrrp_router_id: 256 is not 1..255");
    c.vrrp_router_id.reset();
    c.vrrp_advert_int = 0;
    CHECK(only_problem(c) ==
          "h2e_clusters cluster_id=1: column vrrp_advert_int: 0 is not 1..255 seconds");
    c.vrrp_advert_int = 1;
    c.ha = Ha::vrrp;
    c.vrrp_neighbours.clear();
    c.id = 300;  // no router id of its own, and its id is none
    CHECK(only_problem(c).find("column vrrp_router_id: null, and the cluster id 300 is no VRRP "
                               "router id (1..255): set one") != std::string::npos);
    c.load_balancers.pop_back();  // no backup: no VRRP
    CHECK_FALSE(c.uses_vrrp());
    CHECK(validate(c).empty());
}
