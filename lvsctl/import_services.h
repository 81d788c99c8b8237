// What the keepalived.conf and `ipvsadm -S` readers (lvsctl/import.h) share: both first read a
// file into a list of virtual services as the file has them, then fold that list into the one
// cluster lvsctl models (one firewall-mark service per address family), refusing by line and
// service whatever does not fit (docs/migration-keepalived-ipvsadm.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/import.h"
#include "lvsctl/model.h"

namespace lvsctl {

// A real server's health check as a cluster setting would hold it (keepalived's checkers mapped
// onto check_send / check_expect / check_program ...). Real servers must all have the same one.
struct ImportedCheck {
    std::optional<std::string> send;
    std::optional<std::string> expect;
    bool use_regex = false;
    std::optional<std::string> program;  // %h for the server's address
    std::optional<std::int64_t> timeout;
    std::optional<std::int64_t> port;  // connect_port
    friend bool operator==(const ImportedCheck&, const ImportedCheck&) = default;
};

struct ImportedRealServer {
    std::size_t line = 0;
    std::string name;  // the address as written (a host name for ipvsadm), for hints and messages
    IpAddress address;
    std::int64_t weight = 1;
    std::optional<std::int64_t> port;  // as written; std::nullopt: none given
    Forwarding forwarding = Forwarding::route;
    std::optional<ImportedCheck> check;  // std::nullopt: no checker
    bool inhibit = false;                // keepalived's inhibit_on_failure
    // lvsctl's own comment above a real server it rendered: "# node N, managed at MGMT".
    std::optional<std::int64_t> node_id;
    std::optional<IpAddress> mgmt_address;
};

struct ImportedService {
    std::size_t line = 0;
    std::string description;  // "virtual_server 10.0.0.1 80", "-A -f 100", for messages
    std::optional<std::int64_t> fwmark;
    std::optional<IpAddress> vip;  // with port: an address service
    std::int64_t port = 0;
    Family family = Family::inet;
    std::string protocol = "tcp";
    std::string scheduler = "wlc";
    std::int64_t persistence = 0;
    std::optional<std::int64_t> check_interval;  // keepalived's delay_loop
    std::vector<ImportedRealServer> servers;
};

// What lvsctl's own header comments said, when the file is one lvsctl rendered.
struct ImportedHeader {
    std::optional<std::string> name;
    std::optional<std::int64_t> serial;
    std::vector<LoadBalancer> load_balancers;
    std::optional<std::vector<IpAddress>> website_ips;
    std::optional<std::vector<std::int64_t>> ports;
    std::optional<std::string> protocol;
};

// The services as one cluster. Throws Error(ExitCode::data, "SOURCE line N: SERVICE: REASON")
// for the first service or real server that does not fit; appends what it drops or assumes to
// `warnings`. The cluster is not validated.
Cluster fold_services(const std::vector<ImportedService>& services, const ImportedHeader& header,
                      std::string_view source, const ImportHints& hints,
                      std::vector<std::string>& warnings);

}  // namespace lvsctl
