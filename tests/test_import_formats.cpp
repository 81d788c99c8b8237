// The keepalived.conf and `ipvsadm -S` readers (lvsctl/import.h), their shared fold into one
// cluster, `render --format=ipvsadm`, and the round trips render -> parse -> the same cluster.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/import.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

const templates::Renderer kRenderer(lvsctl::testing::template_dir());

// The fields keepalived.conf and ipvsadm rules carry, one line each, so that a failed
// comparison shows the difference. Not carried by either (and not printed): id, backend, ha and
// the VRRP settings, check_reentry, load_monitor, load_scale; with a check program, send, expect,
// use_regex and the check port (the monitor does not use them then).
std::string describe(const Cluster& c) {
    std::string out;
    out += fmt::format("name {} serial {} fwmark {} scheduler {} protocol {}\n", c.name, c.serial,
                       c.fwmark, c.scheduler, c.protocol);
    out += fmt::format("ports {} forwarding {} persistence {}\n", fmt::join(c.ports, " "),
                       to_string(c.forwarding), c.persistence);
    for (const auto& website : c.website_ips) {
        out += fmt::format("website ip {}\n", website.str());
    }
    for (const auto& lb : c.load_balancers) {
        out += fmt::format("lb {} {} {} {}\n", to_string(lb.role), lb.mgmt_address.str(),
                           lb.ssh_port, lb.vip_interface);
    }
    for (const auto& s : c.servers) {
        out += fmt::format("server {} mgmt {} address {} v6 {} weight {} active {}\n", s.node_id,
                           s.mgmt_address.str(), s.address.str(),
                           s.address_v6 ? s.address_v6->str() : "-", s.weight, s.active);
    }
    out += fmt::format("check interval {} timeout {} program {} quiesce {}\n", c.check_interval,
                       c.check_timeout, c.check_program.value_or("-"), c.quiesce_server);
    if (!c.check_program) {
        out += fmt::format("check send {:?} expect {:?} regex {} port {}\n",
                           c.check_send.value_or("-"), c.check_expect.value_or("-"),
                           c.check_use_regex, c.check_port ? std::to_string(*c.check_port) : "-");
    }
    return out;
}

std::string refusal(std::string_view text, bool keepalived, const ImportHints& hints = {}) {
    try {
        if (keepalived) {
            parse_keepalived_conf(text, "k.conf", hints);
        } else {
            parse_ipvsadm_save(text, "rules", hints);
        }
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        return e.what();
    }
    FAIL("accepted: " << text);
    return {};
}

bool has_warning(const Imported& imported, std::string_view part) {
    return std::any_of(imported.warnings.begin(), imported.warnings.end(),
                       [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

// Clusters that keepalived.conf and ipvsadm rules can carry whole.
std::vector<Cluster> round_trip_clusters() {
    std::vector<Cluster> out;
    auto seed = lvsctl::testing::seed_cluster();
    seed.serial = 12;
    out.push_back(seed);

    auto dual = lvsctl::testing::dual_stack_cluster();
    dual.serial = 5;
    dual.persistence = 120;
    out.push_back(dual);

    auto checked = lvsctl::testing::seed_cluster();
    checked.serial = 3;
    checked.check_interval = 2;
    checked.check_timeout = 4;
    checked.check_program = "/usr/lib/lvsctl/check-http --host %h";
    checked.quiesce_server = true;
    out.push_back(checked);

    // A NAT cluster for UDP on several ports, round robin, a TCP connect check on its own port.
    Cluster nat;
    nat.id = 7;
    nat.name = "dns-pool";
    nat.serial = 40;
    nat.scheduler = "rr";
    nat.fwmark = 7;
    nat.protocol = "udp";
    nat.ports = {53, 5353};
    nat.forwarding = Forwarding::masq;
    nat.check_send.reset();
    nat.check_expect.reset();
    nat.check_port = 8053;
    nat.check_timeout = 3;
    nat.check_interval = 5;
    nat.load_balancers.push_back({Role::primary, ip("192.0.2.1"), 22, "eth1"});
    nat.load_balancers.push_back({Role::backup, ip("192.0.2.2"), 22, "eth1"});
    nat.servers.push_back(
        {1, ip("192.0.2.11"), ip("10.1.0.11"), std::nullopt, 22, 10, true, std::nullopt, {}});
    nat.servers.push_back(
        {2, ip("192.0.2.12"), ip("10.1.0.12"), std::nullopt, 22, 20, true, std::nullopt, {}});
    nat.servers.push_back(
        {3, ip("192.0.2.13"), ip("10.1.0.13"), std::nullopt, 22, 0, true, std::nullopt, {}});
    nat.website_ips = {ip("198.51.100.53"), ip("198.51.100.54")};
    out.push_back(nat);

    // A hosting cluster: HTTP and HTTPS on many website IPs, a health URL answering 200,
    // tunnelling, wrr, dual stack.
    auto hosting = lvsctl::testing::dual_stack_cluster();
    hosting.name = "hosting-7";
    hosting.serial = 1;
    hosting.ports = {80, 443};
    hosting.scheduler = "wrr";
    hosting.forwarding = Forwarding::tunnel;
    hosting.check_send = std::string("GET /health HTTP/1.0\r\n\r\n");
    hosting.check_expect = std::string("^HTTP/1.[01] 200 ");
    hosting.check_use_regex = true;
    hosting.website_ips.push_back(ip("10.39.84.132"));
    hosting.website_ips.push_back(ip("2001:db8:84::132"));
    out.push_back(hosting);
    return out;
}

}  // namespace

TEST_CASE("management_address: the hint, the address itself, the resolver, or nothing") {
    ImportHints hints;
    hints.servers.emplace("2001:db8::5", ip("10.0.0.5"));
    hints.servers.emplace("web1", ip("10.0.0.7"));
    CHECK(management_address(hints, "2001:db8::5") == ip("10.0.0.5"));
    CHECK(management_address(hints, "2001:DB8:0::5") == ip("10.0.0.5"));  // spelt otherwise
    CHECK(management_address(hints, "web1") == ip("10.0.0.7"));
    CHECK(management_address(hints, "10.0.0.9") == ip("10.0.0.9"));
    CHECK(management_address(hints, "web2") == std::nullopt);
    hints.resolve = [](std::string_view name) -> std::optional<IpAddress> {
        return name == "web2" ? std::optional(ip("10.0.0.8")) : std::nullopt;
    };
    CHECK(management_address(hints, "web2") == ip("10.0.0.8"));
    CHECK(management_address(hints, "web3") == std::nullopt);
}

TEST_CASE("render ipvsadm: what ipvsadm -S -n prints on the converged LB") {
    auto dual = lvsctl::testing::dual_stack_cluster();
    dual.persistence = 120;
    dual.servers[1].active = false;
    CHECK(ipvsadm_rules(dual) ==
          "-A -f 100 -s lblc -p 120\n"
          "-a -f 100 -r 10.39.84.43:0 -g -w 32\n"
          "-a -f 100 -r 10.39.84.44:0 -g -w 0\n"
          "-A -f 100 -6 -s lblc -p 120\n"
          "-a -f 100 -6 -r [2001:db8:84::43]:0 -g -w 32\n"
          "-a -f 100 -6 -r [2001:db8:84::44]:0 -g -w 0\n");
    auto seed = lvsctl::testing::seed_cluster();
    seed.forwarding = Forwarding::masq;
    seed.servers[0].address = ip("10.39.84.50");  // ipvsadm sorts real servers by address
    CHECK(ipvsadm_rules(seed) ==
          "-A -f 100 -s lblc\n"
          "-a -f 100 -r 10.39.84.44:0 -m -w 32\n"
          "-a -f 100 -r 10.39.84.50:0 -m -w 32\n");
}

TEST_CASE("import ipvsadm: a hosting LB's ipvsadm-save, address services folded into a mark") {
    // Two website IPs, HTTP and HTTPS each, the same three servers behind every service: what
    // `ipvsadm-save` (without -n: names for ports) prints.
    const std::string text =
        "-A -t 192.0.2.10:http -s wrr -p 600\n"
        "-a -t 192.0.2.10:http -r 10.0.0.11:http -g -w 10\n"
        "-a -t 192.0.2.10:http -r 10.0.0.12:http -g -w 20\n"
        "-a -t 192.0.2.10:http -r 10.0.0.13:http -g -w 0\n"
        "-A -t 192.0.2.10:https -s wrr -p 600\n"
        "-a -t 192.0.2.10:https -r 10.0.0.11:https -g -w 10\n"
        "-a -t 192.0.2.10:https -r 10.0.0.12:https -g -w 20\n"
        "-a -t 192.0.2.10:https -r 10.0.0.13:https -g -w 0\n"
        "\n"
        "# the second website IP\n"
        "-A -t 192.0.2.20:80 -s wrr -p 600\n"
        "-a -t 192.0.2.20:80 -r 10.0.0.11:80 -g -w 10\n"
        "-a -t 192.0.2.20:80 -r 10.0.0.12:80 -g -w 20\n"
        "-a -t 192.0.2.20:80 -r 10.0.0.13:80 -g -w 0\n"
        "-A -t 192.0.2.20:443 -s wrr -p 600\n"
        "-a -t 192.0.2.20:443 -r 10.0.0.11:443 -g -w 10\n"
        "-a -t 192.0.2.20:443 -r 10.0.0.12:443 -g -w 20\n"
        "-a -t 192.0.2.20:443 -r 10.0.0.13:443 -g -w 0\n";
    ImportHints hints;
    hints.servers.emplace("10.0.0.12", ip("172.16.0.12"));
    const auto imported = parse_ipvsadm_save(text, "rules", hints);
    const auto& c = imported.cluster;
    CHECK(c.name == "imported");
    CHECK(c.fwmark == 100);
    CHECK(c.scheduler == "wrr");
    CHECK(c.persistence == 600);
    CHECK(c.ports == std::vector<std::int64_t>{80, 443});
    CHECK(c.website_ips == std::vector<IpAddress>{ip("192.0.2.10"), ip("192.0.2.20")});
    CHECK(c.load_balancers.empty());
    REQUIRE(c.servers.size() == 3);
    CHECK(c.servers[0].node_id == 1);
    CHECK(c.servers[0].mgmt_address == ip("10.0.0.11"));
    CHECK(c.servers[1].mgmt_address == ip("172.16.0.12"));  // from the hint
    CHECK(c.servers[2].weight == 0);
    CHECK(c.servers[2].active);
    CHECK(has_warning(imported, "line 1: 4 address services become one fwmark 100 service"));
}

TEST_CASE("import ipvsadm: ipvsadm's defaults, long options, clustered flags, IPv6") {
    SUBCASE("-s, -p's value, forwarding and weight left out") {
        const auto c =
            parse_ipvsadm_save("ipvsadm -A -f 5 -p\nipvsadm -a -f 5 -r 10.0.0.1\n", "rules", {})
                .cluster;
        CHECK(c.scheduler == "wlc");
        CHECK(c.persistence == 300);
        CHECK(c.forwarding == Forwarding::route);
        REQUIRE(c.servers.size() == 1);
        CHECK(c.servers[0].weight == 1);
        CHECK(c.fwmark == 5);
    }
    SUBCASE("long options and -At clusters") {
        const auto c = parse_ipvsadm_save(
                           "--add-service --udp-service 192.0.2.53:53 --scheduler=sh "
                           "--persistent 60\n"
                           "-au 192.0.2.53:53 --real-server 10.0.0.1:53 --masquerading "
                           "--weight 3\n",
                           "rules", {})
                           .cluster;
        CHECK(c.protocol == "udp");
        CHECK(c.scheduler == "sh");
        CHECK(c.persistence == 60);
        CHECK(c.forwarding == Forwarding::masq);
        CHECK(c.servers.at(0).weight == 3);
        CHECK(c.ports == std::vector<std::int64_t>{53});
    }
    SUBCASE("dual stack fwmark services, IPv6 real servers paired by --server") {
        const std::string text =
            "-A -f 100 -s lblc\n"
            "-a -f 100 -r 10.39.84.43:0 -g -w 32\n"
            "-a -f 100 -r 10.39.84.44:0 -g -w 32\n"
            "-A -f 100 -6 -s lblc\n"
            "-a -f 100 -6 -r [2001:db8:84::43]:0 -g -w 32\n"
            "-a -f 100 -6 -r [2001:db8:84::44]:0 -g -w 32\n";
        ImportHints hints;
        hints.servers.emplace("2001:db8:84::43", ip("10.39.84.43"));
        hints.servers.emplace("2001:db8:84::44", ip("10.39.84.44"));
        const auto imported = parse_ipvsadm_save(text, "rules", hints);
        const auto& c = imported.cluster;
        REQUIRE(c.servers.size() == 2);
        CHECK(c.servers[1].address_v6 == ip("2001:db8:84::44"));
        CHECK(has_warning(imported, "does not say which website IPs and ports carry the mark"));
        const auto refused = refusal(text, false);
        CHECK(refused ==
              "rules line 5: service -f 100 -6: IPv6 real server 2001:db8:84::43 has no IPv4 "
              "partner: give --server 2001:db8:84::43=MGMT_IP (the management address of its "
              "IPv4 real server)");
    }
    SUBCASE("IPv6 address services, host names through the resolver") {
        ImportHints hints;
        hints.resolve = [](std::string_view name) -> std::optional<IpAddress> {
            return name == "web1.example" ? std::optional(ip("2001:db8::11")) : std::nullopt;
        };
        hints.servers.emplace("web1.example", ip("10.0.0.11"));
        const std::string text =
            "-A -t 10.0.0.100:80 -s rr\n"
            "-a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1\n"
            "-A -t [2001:db8::100]:80 -s rr\n"
            "-a -t [2001:db8::100]:80 -r web1.example:80 -g -w 1\n";
        const auto c = parse_ipvsadm_save(text, "rules", hints).cluster;
        CHECK(c.website_ips == std::vector<IpAddress>{ip("10.0.0.100"), ip("2001:db8::100")});
        CHECK(c.servers.at(0).address_v6 == ip("2001:db8::11"));
    }
}

TEST_CASE("import ipvsadm: warnings for what changes nothing") {
    const auto imported = parse_ipvsadm_save(
        "-C\n"
        "-A -t 192.0.2.1:80 -s rr\n"
        "-a -t 192.0.2.1:80 -r 10.0.0.1:8080 -g -w 1 -x 0 -y 0\n",
        "rules", {});
    CHECK(has_warning(imported, "line 1: -C (clear the table)"));
    CHECK(has_warning(imported, "line 3: -x 0: no connection threshold"));
    CHECK(has_warning(imported, "line 3: real server 10.0.0.1 port 8080: ignored, route keeps"));
}

TEST_CASE("import ipvsadm: each refusal names the line, the service and the reason") {
    const std::string a = "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g\n";
    CHECK(refusal(a + "-A -f 3 -s rr\n", false) ==
          "rules line 3: service -f 3: a fwmark service beside the address service on line 1: "
          "lvsctl folds either fwmark services or address services into a cluster, not both");
    CHECK(refusal("-A -f 3\n-A -f 4\n", false) ==
          "rules line 2: service -f 4: fwmark 4 differs from fwmark 3 on line 1: lvsctl keeps "
          "one mark for a cluster's services");
    CHECK(refusal("-A -f 3 -s rr\n-A -f 3 -6 -s wrr\n", false) ==
          "rules line 2: service -f 3 -6: scheduler wrr differs from rr of service -f 3 on line "
          "1: a cluster has one");
    CHECK(refusal(a + "-A -t 192.0.2.1:443 -s rr\n-a -t 192.0.2.1:443 -r 10.0.0.2:443\n", false) ==
          "rules line 3: service -t 192.0.2.1:443: its real servers (address, weight) differ "
          "from those of service -t 192.0.2.1:80 on line 1: one mark over every VIP and port "
          "needs the same real servers behind each");
    CHECK(refusal(a + "-A -t 192.0.2.1:443 -s rr\n-a -t 192.0.2.1:443 -r 10.0.0.1:443\n"
                      "-A -t 192.0.2.2:80 -s rr\n-a -t 192.0.2.2:80 -r 10.0.0.1:80\n",
                  false) ==
          "rules line 5: service -t 192.0.2.2:80: 192.0.2.2 has no service on port 443 (line 3 "
          "has one on 192.0.2.1): a mark over every VIP and port would also serve 192.0.2.2:443");
    CHECK(refusal("-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:8080 -m\n", false) ==
          "rules line 2: service -t 192.0.2.1:80: real server 10.0.0.1 port 8080 differs from "
          "the service's port 80: NAT port mapping cannot be held (lvsctl's mark keeps each "
          "connection's port)");
    CHECK(refusal("-A -f 1 -s fancy\n", false) ==
          "rules line 1: service -f 1: scheduler fancy is not one of the kernel's IPVS "
          "schedulers");
    CHECK(refusal("-A -f 1\n-a -f 1 -r 10.0.0.1 -g\n-a -f 1 -r 10.0.0.2 -m\n", false) ==
          "rules line 3: service -f 1: real server 10.0.0.2 is forwarded by masq, real server "
          "10.0.0.1 of service -f 1 on line 2 by route: lvsctl forwards every server the same "
          "way");
    CHECK(refusal("-A -f 1\n-a -f 1 -r 10.0.0.1\n-a -f 1 -r 10.0.0.1\n", false) ==
          "rules line 3: service -f 1: real server 10.0.0.1 is listed twice (first on line 2)");
    CHECK(refusal("-A -f 1 -o\n", false) ==
          "rules line 1: -o: one-packet scheduling (ops) cannot be held: lvsctl schedules "
          "connections");
    CHECK(refusal("-A -f 1 -s mh -b mh-port\n", false).starts_with("rules line 1: -b mh-port: "));
    CHECK(refusal("-A -f 1 -s rr -p 60 pe sip\n", false)
              .starts_with("rules line 1: --pe sip: a persistence engine cannot be held"));
    CHECK(refusal("-A -f 1 -s rr -p 60 -M 255.255.255.0\n", false) ==
          "rules line 1: service -f 1: -M 255.255.255.0: persistence by client network cannot "
          "be held: lvsctl's persistence is by client address");
    CHECK(refusal(a + "-a -t 192.0.2.1:80 -r 10.0.0.2:80 -x 100\n", false)
              .starts_with("rules line 3: -x 100: a connection threshold"));
    CHECK(refusal("-A -f 1 --frobnicate\n", false) ==
          "rules line 1: unknown option --frobnicate: it may change what the service does");
    CHECK(refusal("-E -f 1 -s rr\n", false) ==
          "rules line 1: -E: only the -A and -a lines of a saved table can be imported");
    CHECK(refusal("-a -f 1 -r 10.0.0.1\n", false) ==
          "rules line 1: service -f 1: -a before the service's -A line");
    CHECK(refusal("-A -t www.example:80\n", false) ==
          "rules line 1: host name \"www.example\" does not resolve");
    CHECK(refusal("-A -t 192.0.2.1:0 -p\n", false)
              .starts_with("rules line 1: service -t 192.0.2.1:0: a service without a port"));
    CHECK(refusal("-A -t 192.0.2.1:gopher\n", false) ==
          "rules line 1: port \"gopher\" is not a number or a known service name (http, https, "
          "...)");
    CHECK(refusal("# nothing\n\n", false) ==
          "rules: no virtual service to import (no virtual_server, no -A line)");
    CHECK(refusal("-A -f 1 -6\n-a -f 1 -6 -r 10.0.0.1\n", false) ==
          "rules line 2: service -f 1 -6: real server 10.0.0.1 is not of the service's address "
          "family");
}

TEST_CASE("import keepalived: a hosting keepalived.conf with groups, checks and VRRP") {
    const std::string text = R"(! Configuration File for keepalived
global_defs {
   router_id LVS_MAIN
   notification_email { ops@example.com }
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.10/32 dev eth0
        192.0.2.20/32 dev eth0
    }
}

virtual_server_group websites {
    192.0.2.10 80
    192.0.2.10 443
    192.0.2.20 80     # the shop
    192.0.2.20 443
}

virtual_server group websites {
    delay_loop 6
    lb_algo wlc
    lb_kind DR
    persistence_timeout 900
    protocol TCP
    alpha

    real_server 10.0.0.11 {
        weight 100
        inhibit_on_failure
        HTTP_GET {
            url {
              path /healthz
              status_code 200
            }
            connect_port 8081
            connect_timeout 3
            retry 3
        }
    }
    real_server 10.0.0.12 {
        weight 50
        inhibit_on_failure
        HTTP_GET {
            url {
              path /healthz
              status_code 200
            }
            connect_port 8081
            connect_timeout 3
            retry 3
        }
    }
}
)";
    const auto imported = parse_keepalived_conf(text, "keepalived.conf", {});
    const auto& c = imported.cluster;
    CHECK(c.name == "imported");
    CHECK(c.website_ips == std::vector<IpAddress>{ip("192.0.2.10"), ip("192.0.2.20")});
    CHECK(c.ports == std::vector<std::int64_t>{80, 443});
    CHECK(c.scheduler == "wlc");
    CHECK(c.persistence == 900);
    CHECK(c.check_interval == 6);
    CHECK(c.check_timeout == 3);
    CHECK(c.check_port == 8081);
    CHECK(c.check_send == "GET /healthz HTTP/1.0\r\n\r\n");
    CHECK(c.check_expect == "^HTTP/1.[01] 200 ");
    CHECK(c.check_use_regex);
    CHECK(c.quiesce_server);
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[1].weight == 50);
    auto with_lb = c;
    with_lb.load_balancers.push_back({Role::primary, ip("192.0.2.100"), 22, "eth1"});
    CHECK(validate(with_lb).empty());  // the import command adds the LBs
    // render finds the same check again
    auto named = c;
    named.name = "shop";
    const auto rendered = kRenderer.keepalived(named);
    CHECK(rendered.find("status_code 200\n") != std::string::npos);
    CHECK(rendered.find("path /healthz\n") != std::string::npos);
    CHECK(has_warning(imported,
                      "VRRP addresses 192.0.2.10/32 192.0.2.20/32: lvsctl's VRRP is "
                      "configured with ha=vrrp, docs/ha.md"));
    CHECK(has_warning(imported,
                      "line 31: virtual_server group websites (192.0.2.10 80, line "
                      "19): alpha: concerns checks or notifications only"));
    CHECK(has_warning(imported, "retry: concerns checks"));
}

TEST_CASE("import keepalived: NAT, IPv6 with --server, MISC_CHECK, TCP_CHECK, unknown keywords") {
    SUBCASE("fwmark services per family, MISC_CHECK back to %h") {
        const std::string text = R"(virtual_server fwmark 7 {
    lvs_sched sh
    lvs_method TUN
    real_server 10.0.0.1 {
        weight 5
        MISC_CHECK {
            misc_path "/usr/local/bin/check --host 10.0.0.1"
            misc_timeout 4
        }
    }
}
virtual_server fwmark 7 {
    ip_family inet6
    lvs_sched sh
    lvs_method TUN
    real_server 2001:db8::1 {
        weight 5
        MISC_CHECK {
            misc_path "/usr/local/bin/check --host 2001:db8::1"
            misc_timeout 4
        }
        frobnicate yes
    }
}
)";
        ImportHints hints;
        hints.servers.emplace("2001:db8::1", ip("10.0.0.1"));
        const auto imported = parse_keepalived_conf(text, "k.conf", hints);
        const auto& c = imported.cluster;
        CHECK(c.fwmark == 7);
        CHECK(c.forwarding == Forwarding::tunnel);
        CHECK(c.check_program == "/usr/local/bin/check --host %h");
        CHECK(c.check_timeout == 4);
        CHECK(c.servers.at(0).address_v6 == ip("2001:db8::1"));
        CHECK(has_warning(imported,
                          "line 22: virtual_server fwmark 7: real_server 2001:db8::1: "
                          "unknown keyword frobnicate, skipped"));
        CHECK(refusal(text, true)
                  .find("k.conf line 16: virtual_server fwmark 7: IPv6 real server "
                        "2001:db8::1 has no IPv4 partner: give --server "
                        "2001:db8::1=MGMT_IP") == 0);
    }
    SUBCASE("NAT on one address with a TCP check") {
        const std::string text =
            "virtual_server 192.0.2.5 25 {\n"
            "  lvs_sched rr\n  lvs_method NAT\n"
            "  real_server 10.0.0.1 25 { weight 1\n TCP_CHECK { connect_timeout 2 } }\n"
            "  real_server 10.0.0.2 25 { weight 1\n TCP_CHECK { connect_timeout 2 } }\n"
            "}\n";
        const auto imported = parse_keepalived_conf(text, "k.conf", {});
        const auto& c = imported.cluster;
        CHECK(has_warning(imported,
                          "line 1: 1 address service becomes one fwmark 100 service "
                          "over website IPs 192.0.2.5 and ports 25"));
        CHECK(c.forwarding == Forwarding::masq);
        CHECK(c.ports == std::vector<std::int64_t>{25});
        CHECK_FALSE(c.check_send.has_value());
        CHECK_FALSE(c.check_expect.has_value());
        CHECK_FALSE(c.check_port.has_value());  // the real server's port, the first port
        CHECK(c.check_timeout == 2);
    }
}

TEST_CASE("import keepalived: each refusal names the line, the service and the reason") {
    CHECK(refusal("include /etc/keepalived/conf.d/*.conf\n", true) ==
          "k.conf line 1: include /etc/keepalived/conf.d/*.conf: lvsctl reads one file; import "
          "the configuration with its included files written into it");
    CHECK(refusal("virtual_server 192.0.2.1 80 {\n  sorry_server 10.9.9.9 80\n}\n", true) ==
          "k.conf line 2: virtual_server 192.0.2.1 80: sorry_server: a sorry server takes the "
          "traffic when every real server is down cannot be held by lvsctl");
    CHECK(refusal("virtual_server 192.0.2.1 80 {\n  ops\n}\n", true)
              .starts_with("k.conf line 2: virtual_server 192.0.2.1 80: ops: "));
    CHECK(refusal("virtual_server 192.0.2.1 80 {\n lvs_method NAT\n"
                  " real_server 10.0.0.1 8080 {\n }\n}\n",
                  true) ==
          "k.conf line 3: virtual_server 192.0.2.1 80: real server 10.0.0.1 port 8080 differs "
          "from the service's port 80: NAT port mapping cannot be held (lvsctl's mark keeps each "
          "connection's port)");
    CHECK(refusal("virtual_server fwmark 1 {\n"
                  " real_server 10.0.0.1 { TCP_CHECK { connect_port 80 } }\n"
                  " real_server 10.0.0.2 { TCP_CHECK { connect_port 81 } }\n}\n",
                  true) ==
          "k.conf line 3: virtual_server fwmark 1: real server 10.0.0.2's health check differs "
          "from real server 10.0.0.1's of virtual_server fwmark 1 on line 2: lvsctl keeps one "
          "check for the cluster");
    CHECK(refusal("virtual_server_group g {\n fwmark 3\n 192.0.2.1 80\n}\n"
                  "virtual_server group g {\n}\n",
                  true)
              .starts_with("k.conf line 5: virtual_server group g (192.0.2.1 80, line 3): an "
                           "address service beside the fwmark service on line 5"));
    CHECK(refusal("virtual_server fwmark 1 {\n lvs_sched fancy\n}\n", true) ==
          "k.conf line 1: virtual_server fwmark 1: scheduler fancy is not one of the kernel's "
          "IPVS schedulers");
    CHECK(refusal("virtual_server fwmark 1 {\n real_server 10.0.0.1 {\n", true) ==
          "k.conf line 2: a block opened here is not closed");
    CHECK(refusal("virtual_server fwmark 1 {\n uthreshold 10\n}\n", true)
              .starts_with("k.conf line 2: virtual_server fwmark 1: uthreshold 10: a connection "
                           "threshold"));
    CHECK(
        refusal("virtual_server 192.0.2.1 80 {\n persistence_granularity 255.255.255.0\n}\n", true)
            .starts_with("k.conf line 2: virtual_server 192.0.2.1 80: persistence_granularity "
                         "255.255.255.0: persistence by client network cannot be held"));
    CHECK(refusal("virtual_server fwmark 1 {\n real_server 10.0.0.1 {\n  HTTP_GET {\n"
                  "   url { path \"/a b\" }\n  }\n }\n}\n",
                  true) ==
          "k.conf line 4: virtual_server fwmark 1: real_server 10.0.0.1: HTTP_GET path \"/a b\": "
          "lvsctl's check requests a path that starts with '/' and has no blanks");
    CHECK(refusal("$PORT=80\n", true)
              .starts_with("k.conf line 1: $PORT=80: keepalived's "
                           "parameters"));
}

TEST_CASE("import keepalived: lvsctl's comments count only under lvsctl's first line") {
    const std::string body =
        "# primary 10.0.0.1\n"
        "# website IPs: 192.0.2.1; ports: 80; protocol: tcp\n"
        "virtual_server fwmark 100 {\n"
        "    # node 9, managed at 10.9.9.9\n"
        "    real_server 10.0.0.5 {\n    }\n}\n";
    const auto plain = parse_keepalived_conf(body, "k.conf", {}).cluster;
    CHECK(plain.name == "imported");
    CHECK(plain.load_balancers.empty());
    CHECK(plain.servers.at(0).node_id == 1);
    CHECK(plain.servers.at(0).mgmt_address == ip("10.0.0.5"));
    const auto own =
        parse_keepalived_conf(
            "# keepalived.conf for cluster www-1, serial 4, rendered by lvsctl.\n" + body, "k.conf",
            {})
            .cluster;
    CHECK(own.name == "www-1");
    CHECK(own.serial == 4);
    REQUIRE(own.load_balancers.size() == 1);
    CHECK(own.load_balancers[0].mgmt_address == ip("10.0.0.1"));
    CHECK(own.website_ips == std::vector<IpAddress>{ip("192.0.2.1")});
    CHECK(own.ports == std::vector<std::int64_t>{80});
    CHECK(own.servers.at(0).node_id == 9);
    CHECK(own.servers.at(0).mgmt_address == ip("10.9.9.9"));
    // Only on the template's lines: an operator's "# primary ..." further down is a comment.
    const auto edited = parse_keepalived_conf(
                            "# keepalived.conf for cluster www-1, serial 4, rendered by lvsctl.\n"
                            "# primary 10.0.0.1\n\n# primary was lb-old\n" +
                                body.substr(body.find("virtual_server")),
                            "k.conf", {})
                            .cluster;
    CHECK(edited.load_balancers.size() == 1);
}

TEST_CASE("round trip: render keepalived -> parse_keepalived_conf gives the same cluster") {
    for (const auto& c : round_trip_clusters()) {
        CAPTURE(c.name);
        REQUIRE(validate(c).empty());
        const auto text = kRenderer.keepalived(c);
        const auto imported = parse_keepalived_conf(text, "rendered", {});
        CHECK(describe(imported.cluster) == describe(c));
        CHECK(imported.warnings.empty());
        CHECK(kRenderer.keepalived(imported.cluster) == text);
    }
    SUBCASE(
        "an inactive server: keepalived.conf has it at weight 0, so it comes back active "
        "with weight 0") {
        auto dual = lvsctl::testing::dual_stack_cluster();
        dual.servers[1].active = false;
        const auto c = parse_keepalived_conf(kRenderer.keepalived(dual), "rendered", {}).cluster;
        CHECK(c.servers[1].active);
        CHECK(c.servers[1].weight == 0);
    }
}

TEST_CASE("round trip: render ipvsadm -> parse_ipvsadm_save gives the same servers and service") {
    // `ipvsadm -R` does not skip comment lines (its reader checks for '#' in the separator after
    // a word, not in the word), so the rules carry no lvsctl comments: the real servers' mgmt
    // addresses come from --server hints; the name, serial, LBs, node ids, website IPs, ports,
    // protocol and checks are not in the rules and are copied from the cluster, as the import
    // command fills them from the database and its options.
    for (const auto& c : round_trip_clusters()) {
        CAPTURE(c.name);
        const auto text = ipvsadm_rules(c);
        ImportHints hints;
        for (const auto& s : c.servers) {
            hints.servers.emplace(s.address.str(), s.mgmt_address);
            if (s.address_v6) {
                hints.servers.emplace(s.address_v6->str(), s.mgmt_address);
            }
        }
        auto imported = parse_ipvsadm_save(text, "rules", hints).cluster;
        auto& back = imported;
        back.name = c.name;
        back.serial = c.serial;
        back.load_balancers = c.load_balancers;
        back.website_ips = c.website_ips;
        back.ports = c.ports;
        back.protocol = c.protocol;
        back.check_send = c.check_send;
        back.check_expect = c.check_expect;
        back.check_use_regex = c.check_use_regex;
        back.check_program = c.check_program;
        back.check_timeout = c.check_timeout;
        back.check_interval = c.check_interval;
        back.check_port = c.check_port;
        back.quiesce_server = c.quiesce_server;
        for (auto& s : back.servers) {
            const auto it = std::find_if(c.servers.begin(), c.servers.end(),
                                         [&](const Server& o) { return o.address == s.address; });
            REQUIRE(it != c.servers.end());
            s.node_id = it->node_id;
        }
        auto sorted = c;  // ipvsadm lists real servers by address
        std::sort(sorted.servers.begin(), sorted.servers.end(),
                  [](const Server& a, const Server& b) { return a.address < b.address; });
        CHECK(describe(back) == describe(sorted));
        CHECK(ipvsadm_rules(back) == text);
    }
}
