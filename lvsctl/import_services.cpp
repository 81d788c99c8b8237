#include "lvsctl/import_services.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "lvsctl/error.h"

namespace lvsctl {

std::optional<IpAddress> management_address(const ImportHints& hints, std::string_view name) {
    if (auto it = hints.servers.find(name); it != hints.servers.end()) {
        return it->second;
    }
    if (auto ip = IpAddress::parse(name)) {
        // A hint may spell the address differently ("2001:DB8::5", "2001:db8:0::5").
        if (auto it = hints.servers.find(ip->str()); it != hints.servers.end()) {
            return it->second;
        }
        return ip;
    }
    if (hints.resolve) {
        return hints.resolve(name);
    }
    return std::nullopt;
}

namespace {

std::string join_ports(const std::vector<std::int64_t>& ports) {
    return fmt::format("{}", fmt::join(ports, " "));
}

class Folder {
  public:
    Folder(const std::vector<ImportedService>& services, const ImportedHeader& header,
           std::string_view source, const ImportHints& hints, std::vector<std::string>& warnings)
        : services_(services),
          header_(header),
          source_(source),
          hints_(hints),
          warnings_(warnings) {}

    Cluster run() {
        if (services_.empty()) {
            throw Error(ExitCode::data,
                        fmt::format("{}: no virtual service to import (no virtual_server, no -A "
                                    "line)",
                                    source_));
        }
        const auto& first = services_.front();
        if (!is_known_scheduler(first.scheduler)) {
            fail(first.line, first,
                 fmt::format("scheduler {} is not one of the kernel's IPVS schedulers",
                             first.scheduler));
        }
        if (first.protocol != "tcp" && first.protocol != "udp" && first.protocol != "sctp") {
            fail(first.line, first,
                 fmt::format("protocol {} is not tcp, udp or sctp", first.protocol));
        }
        for (const auto& s : services_) {
            if (s.fwmark.has_value() != first.fwmark.has_value()) {
                fail(s.line, s,
                     fmt::format("{} service beside the {} service on line {}: lvsctl folds "
                                 "either fwmark services or address services into a cluster, "
                                 "not both",
                                 s.fwmark ? "a fwmark" : "an address",
                                 first.fwmark ? "fwmark" : "address", first.line));
            }
            same_settings(s, first);
        }
        c_.scheduler = first.scheduler;
        c_.persistence = first.persistence;
        c_.protocol = header_.protocol.value_or(first.protocol);
        if (first.fwmark) {
            fold_marks();
        } else {
            fold_addresses();
        }
        c_.name = header_.name.value_or("imported");
        c_.serial = header_.serial.value_or(0);
        c_.load_balancers = header_.load_balancers;
        fold_forwarding();
        fold_checks();
        fold_servers();
        return std::move(c_);
    }

  private:
    [[noreturn]] void fail(std::size_t line, const ImportedService& s,
                           const std::string& why) const {
        throw Error(ExitCode::data,
                    fmt::format("{} line {}: {}: {}", source_, line, s.description, why));
    }

    void same_settings(const ImportedService& s, const ImportedService& first) const {
        auto differs = [&](std::string_view what, const std::string& mine,
                           const std::string& theirs) {
            if (mine != theirs) {
                fail(s.line, s,
                     fmt::format("{} {} differs from {} of {} on line {}: a cluster has one", what,
                                 mine, theirs, first.description, first.line));
            }
        };
        differs("scheduler", s.scheduler, first.scheduler);
        differs("persistence", std::to_string(s.persistence), std::to_string(first.persistence));
        differs("protocol", s.protocol, first.protocol);
    }

    // One mark: at most one service per family, all with the same mark.
    void fold_marks() {
        const auto& first = services_.front();
        std::map<Family, const ImportedService*> by_family;
        for (const auto& s : services_) {
            if (*s.fwmark != *first.fwmark) {
                fail(s.line, s,
                     fmt::format("fwmark {} differs from fwmark {} on line {}: lvsctl keeps one "
                                 "mark for a cluster's services",
                                 *s.fwmark, *first.fwmark, first.line));
            }
            auto [it, fresh] = by_family.emplace(s.family, &s);
            if (!fresh) {
                fail(s.line, s,
                     fmt::format("a second {} fwmark service (the first is on line {}): lvsctl "
                                 "keeps one service per address family",
                                 ip_version(s.family), it->second->line));
            }
        }
        c_.fwmark = *first.fwmark;
        if (header_.website_ips) {
            c_.website_ips = *header_.website_ips;
        }
        if (header_.ports) {
            c_.ports = *header_.ports;
        } else {
            warnings_.push_back(
                fmt::format("line {}: fwmark {}: the file does not say which website IPs and "
                            "ports carry the mark; ports stay {} and website IPs none until "
                            "given",
                            first.line, c_.fwmark, join_ports(c_.ports)));
        }
    }

    // Address services become one mark over every VIP and port, only when that mark would serve
    // exactly what the services served, the same way.
    void fold_addresses() {
        std::vector<IpAddress> vips;
        std::vector<std::int64_t> ports;
        std::map<std::pair<IpAddress, std::int64_t>, const ImportedService*> pairs;
        std::map<IpAddress, const ImportedService*> first_of_vip;
        std::map<Family, const ImportedService*> first_of_family;
        for (const auto& s : services_) {
            const auto& vip = *s.vip;
            auto [it, fresh] = pairs.emplace(std::pair(vip, s.port), &s);
            if (!fresh) {
                fail(
                    s.line, s,
                    fmt::format("the service is given twice (first on line {})", it->second->line));
            }
            if (first_of_vip.emplace(vip, &s).second) {
                vips.push_back(vip);
            }
            if (std::find(ports.begin(), ports.end(), s.port) == ports.end()) {
                ports.push_back(s.port);
            }
            auto [fam, new_family] = first_of_family.emplace(s.family, &s);
            if (!new_family && real_set(s) != real_set(*fam->second)) {
                fail(s.line, s,
                     fmt::format("its real servers (address, weight) differ from those of {} on "
                                 "line {}: one mark over every VIP and port needs the same real "
                                 "servers behind each",
                                 fam->second->description, fam->second->line));
            }
        }
        for (const auto& vip : vips) {
            for (auto port : ports) {
                if (!pairs.contains({vip, port})) {
                    const auto& s = *first_of_vip.at(vip);
                    const auto* other =
                        &*std::find_if(services_.begin(), services_.end(),
                                       [&](const ImportedService& o) { return o.port == port; });
                    fail(s.line, s,
                         fmt::format("{} has no service on port {} (line {} has one on {}): a "
                                     "mark over every VIP and port would also serve {}",
                                     vip.str(), port, other->line, other->vip->str(),
                                     vip.is_v4() ? fmt::format("{}:{}", vip.str(), port)
                                                 : fmt::format("[{}]:{}", vip.str(), port)));
                }
            }
        }
        c_.fwmark = 100;
        c_.website_ips = vips;
        c_.ports = ports;
        // Even one address service changes how the LB holds it: a mark, not the address.
        std::vector<std::string> names;
        for (const auto& vip : vips) {
            names.push_back(vip.str());
        }
        warnings_.push_back(fmt::format(
            "line {}: {} address service{} become{} one fwmark {} service over website IPs {} "
            "and ports {}",
            services_.front().line, services_.size(), services_.size() == 1 ? "" : "s",
            services_.size() == 1 ? "s" : "", c_.fwmark, fmt::join(names, " "), join_ports(ports)));
    }

    static std::vector<std::pair<IpAddress, std::int64_t>> real_set(const ImportedService& s) {
        std::vector<std::pair<IpAddress, std::int64_t>> set;
        for (const auto& r : s.servers) {
            set.emplace_back(r.address, r.weight);
        }
        std::sort(set.begin(), set.end());
        return set;
    }

    void fold_forwarding() {
        const ImportedRealServer* first = nullptr;
        const ImportedService* first_service = nullptr;
        for (const auto& s : services_) {
            for (const auto& r : s.servers) {
                if (first == nullptr) {
                    first = &r;
                    first_service = &s;
                    c_.forwarding = r.forwarding;
                } else if (r.forwarding != first->forwarding) {
                    fail(r.line, s,
                         fmt::format("real server {} is forwarded by {}, real server {} of {} on "
                                     "line {} by {}: lvsctl forwards every server the same way",
                                     r.name, to_string(r.forwarding), first->name,
                                     first_service->description, first->line,
                                     to_string(first->forwarding)));
                }
                port_of(s, r);
            }
        }
    }

    // A real-server port other than the service's: NAT port mapping, which a mark over several
    // ports cannot hold; direct routing and tunnelling never change the port.
    void port_of(const ImportedService& s, const ImportedRealServer& r) {
        const auto service_port = s.fwmark ? 0 : s.port;
        if (!r.port || *r.port == service_port) {
            return;
        }
        if (r.forwarding == Forwarding::masq) {
            fail(r.line, s,
                 fmt::format("real server {} port {} differs from the service's port {}: NAT "
                             "port mapping cannot be held (lvsctl's mark keeps each "
                             "connection's port)",
                             r.name, *r.port, service_port));
        }
        if (!s.fwmark) {
            warnings_.push_back(
                fmt::format("line {}: real server {} port {}: ignored, {} keeps the service's "
                            "port {}",
                            r.line, r.name, *r.port, to_string(r.forwarding), s.port));
        }
    }

    void fold_checks() {
        const ImportedRealServer* first = nullptr;
        const ImportedService* first_service = nullptr;
        for (const auto& s : services_) {
            for (const auto& r : s.servers) {
                if (first == nullptr) {
                    first = &r;
                    first_service = &s;
                } else if (r.check != first->check || r.inhibit != first->inhibit) {
                    fail(r.line, s,
                         fmt::format("real server {}'s health check differs from real server "
                                     "{}'s of {} on line {}: lvsctl keeps one check for the "
                                     "cluster",
                                     r.name, first->name, first_service->description, first->line));
                }
            }
        }
        const ImportedService* interval_from = nullptr;
        for (const auto& s : services_) {
            if (!s.check_interval) {
                continue;
            }
            if (interval_from == nullptr) {
                interval_from = &s;
                c_.check_interval = *s.check_interval;
            } else if (*s.check_interval != c_.check_interval) {
                warnings_.push_back(fmt::format(
                    "line {}: {}: delay_loop {} differs from {} on line {}; lvsctl keeps one "
                    "check interval, {}",
                    s.line, s.description, *s.check_interval, c_.check_interval,
                    interval_from->line, c_.check_interval));
            }
        }
        if (first == nullptr) {
            return;
        }
        c_.quiesce_server = first->inhibit;
        if (!first->check) {
            return;
        }
        const auto& check = *first->check;
        if (check.timeout) {
            c_.check_timeout = *check.timeout;
        }
        if (check.program) {
            // A program replaces connect and send (docs/monitor.md): send, expect and the port
            // keep their defaults.
            c_.check_program = check.program;
            return;
        }
        c_.check_send = check.send;
        c_.check_expect = check.expect;
        c_.check_use_regex = check.use_regex;
        if (check.port && (c_.ports.empty() || *check.port != c_.ports.front())) {
            c_.check_port = check.port;
        }
    }

    void fold_servers() {
        std::map<IpAddress, const ImportedRealServer*> seen_v4;
        std::map<IpAddress, const ImportedRealServer*> seen_v6;
        std::int64_t next_node_id = 1;
        const bool marks = services_.front().fwmark.has_value();
        auto seen_before = [&](auto& seen, const ImportedService& s, const ImportedRealServer& r) {
            auto [it, fresh] = seen.emplace(r.address, &r);
            if (fresh) {
                return false;
            }
            if (marks) {  // address services share their real servers; a mark lists each once
                fail(r.line, s,
                     fmt::format("real server {} is listed twice (first on line {})", r.name,
                                 it->second->line));
            }
            return true;
        };
        for (const auto& s : services_) {
            if (s.family != Family::inet) {
                continue;
            }
            for (const auto& r : s.servers) {
                if (seen_before(seen_v4, s, r)) {
                    continue;
                }
                const auto mgmt =
                    r.mgmt_address ? r.mgmt_address : management_address(hints_, r.name);
                Server server;
                server.node_id = r.node_id.value_or(next_node_id++);
                server.mgmt_address = mgmt.value_or(r.address);
                server.address = r.address;
                server.weight = r.weight;
                server.active = true;
                for (const auto& other : c_.servers) {
                    if (other.mgmt_address == server.mgmt_address) {
                        fail(r.line, s,
                             fmt::format("real server {} has the management address {} of real "
                                         "server {}: give --server {}=MGMT_IP",
                                         r.name, server.mgmt_address.str(), other.address.str(),
                                         r.name));
                    }
                }
                c_.servers.push_back(server);
            }
        }
        for (const auto& s : services_) {
            if (s.family != Family::inet6) {
                continue;
            }
            for (const auto& r : s.servers) {
                if (seen_before(seen_v6, s, r)) {
                    continue;
                }
                const auto mgmt =
                    r.mgmt_address ? r.mgmt_address : management_address(hints_, r.name);
                auto it = std::find_if(c_.servers.begin(), c_.servers.end(),
                                       [&](const Server& v4) { return v4.mgmt_address == mgmt; });
                if (!mgmt || it == c_.servers.end()) {
                    fail(r.line, s,
                         fmt::format("IPv6 real server {} has no IPv4 partner: give --server "
                                     "{}=MGMT_IP (the management address of its IPv4 real "
                                     "server)",
                                     r.name, r.name));
                }
                if (it->address_v6) {
                    fail(r.line, s,
                         fmt::format("IPv6 real server {}: server {} already has IPv6 address {}",
                                     r.name, it->mgmt_address.str(), it->address_v6->str()));
                }
                if (it->weight != r.weight) {
                    fail(r.line, s,
                         fmt::format("IPv6 real server {}: weight {} differs from its IPv4 "
                                     "partner {}'s weight {}: lvsctl keeps one weight per server",
                                     r.name, r.weight, it->address.str(), it->weight));
                }
                it->address_v6 = r.address;
            }
        }
    }

    const std::vector<ImportedService>& services_;
    const ImportedHeader& header_;
    std::string_view source_;
    const ImportHints& hints_;
    std::vector<std::string>& warnings_;
    Cluster c_;
};

}  // namespace

Cluster fold_services(const std::vector<ImportedService>& services, const ImportedHeader& header,
                      std::string_view source, const ImportHints& hints,
                      std::vector<std::string>& warnings) {
    return Folder(services, header, source, hints, warnings).run();
}

}  // namespace lvsctl
