#include "lvsctl/validate.h"

#include <fmt/format.h>
#include <regex.h>

#include <algorithm>
#include <map>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"

namespace lvsctl {

std::string Problem::str() const {
    if (column.empty()) {
        return fmt::format("{}: {}", object, reason);
    }
    return fmt::format("{}: column {}: {}", object, column, reason);
}

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool all_name_chars(std::string_view s) {
    for (char c : s) {
        if (!is_name_char(c)) {
            return false;
        }
    }
    return true;
}

// Health-check strings are written between quotes in lvs.cf (" or ', whichever they do not
// hold), which has no escapes but the \r \n \t that nanny expands: a string with both quotes,
// or a backslash that would read as one of those escapes, would change the file's meaning.
std::string check_string_problem(std::string_view text) {
    if (text.find('"') != std::string_view::npos && text.find('\'') != std::string_view::npos) {
        return fmt::format("{:?} contains both \" and ', which lvs.cf cannot quote together",
                           std::string(text));
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        if (c == '\\' && (next == 'r' || next == 'n' || next == 't')) {
            return fmt::format("{:?} contains \\{}, which lvs.cf would read as an escape",
                               std::string(text), next);
        }
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\r' && c != '\n' && c != '\t') || u == 0x7f) {
            return fmt::format("contains the control character 0x{:02x}", u);
        }
    }
    return {};
}

class Checker {
  public:
    explicit Checker(const Cluster& c) : c_(c) {}

    std::vector<Problem> run() {
        check_cluster();
        check_load_balancers();
        check_ha();
        check_servers();
        check_website_ips();
        check_lvscf();
        return std::move(problems_);
    }

  private:
    void add(std::string object, std::string column, std::string reason) {
        problems_.push_back({std::move(object), std::move(column), std::move(reason)});
    }

    std::string cluster_obj() const { return fmt::format("h2e_clusters cluster_id={}", c_.id); }

    void check_cluster() {
        const auto obj = cluster_obj();
        if (!is_valid_cluster_name(c_.name)) {
            add(obj, "name",
                fmt::format("{:?} is not a valid cluster name (letters, digits, '_', '.', '-'; "
                            "at most 63; starting with a letter or digit)",
                            c_.name));
        }
        if (const auto backend = parse_backend(c_.backend); !backend) {
            add(obj, "backend",
                fmt::format("unknown backend {:?} (ipvs, piranha, keepalived or "
                            "exec:/path/to/program)",
                            c_.backend));
        } else if (backend->kind == BackendKind::exec && !is_valid_command_path(backend->program)) {
            add(obj, "backend",
                fmt::format("{:?}: the program must be an absolute path of letters, digits "
                            "and _ . / + -",
                            c_.backend));
        }
        if (!is_known_scheduler(c_.scheduler)) {
            add(obj, "scheduler", fmt::format("unknown IPVS scheduler {:?}", c_.scheduler));
        }
        if (c_.fwmark <= 0 || c_.fwmark > 0xffffffffLL) {
            add(obj, "fwmark", fmt::format("{} is not a firewall mark (1..4294967295)", c_.fwmark));
        }
        if (c_.protocol != "tcp" && c_.protocol != "udp" && c_.protocol != "sctp") {
            add(obj, "protocol",
                fmt::format("unknown protocol {:?} (tcp, udp or sctp)", c_.protocol));
        }
        if (c_.ports.empty()) {
            add(obj, "ports", "no port to balance");
        }
        std::set<std::int64_t> seen_ports;
        for (auto port : c_.ports) {
            if (port < 1 || port > 65535) {
                add(obj, "ports", fmt::format("{} is not a port (1..65535)", port));
            } else if (!seen_ports.insert(port).second) {
                add(obj, "ports", fmt::format("port {} is listed twice", port));
            }
        }
        if (c_.persistence < 0 || c_.persistence > 0x7fffffff) {
            add(obj, "persistence", fmt::format("{} is not a number of seconds", c_.persistence));
        }
        for (const auto& [column, text] : {std::pair{"check_send", &c_.check_send},
                                           std::pair{"check_expect", &c_.check_expect}}) {
            if (text->has_value()) {
                if (auto why = check_string_problem(**text); !why.empty()) {
                    add(obj, column, why);
                }
            }
        }
        if (c_.check_timeout < 1 || c_.check_timeout > 86400) {
            add(obj, "check_timeout", fmt::format("{} is not 1..86400 seconds", c_.check_timeout));
        }
        if (c_.check_reentry < 0 || c_.check_reentry > 86400) {
            add(obj, "check_reentry", fmt::format("{} is not 0..86400 seconds", c_.check_reentry));
        }
        if (c_.load_monitor && !is_valid_command_path(*c_.load_monitor)) {
            add(obj, "load_monitor",
                fmt::format("{:?} is not an absolute program path of letters, digits and _ . / + -",
                            *c_.load_monitor));
        }
        if (c_.check_program && !is_valid_command_line(*c_.check_program)) {
            add(obj, "check_program",
                fmt::format("{:?} is not an absolute program path and arguments of letters, "
                            "digits and _ . / + - : = , @ % separated by single spaces",
                            *c_.check_program));
        }
        if (c_.check_interval < 1 || c_.check_interval > 86400) {
            add(obj, "check_interval",
                fmt::format("{} is not 1..86400 seconds", c_.check_interval));
        }
        if (c_.check_port && (*c_.check_port < 1 || *c_.check_port > 65535)) {
            add(obj, "check_port", fmt::format("{} is not a port (1..65535)", *c_.check_port));
        }
        if (c_.load_scale < 1 || c_.load_scale > 1000) {
            add(obj, "load_scale", fmt::format("{} is not 1..1000", c_.load_scale));
        }
        if (c_.check_use_regex && c_.check_expect) {
            if (auto why = regex_problem(*c_.check_expect); !why.empty()) {
                add(obj, "check_expect", why);
            }
        }
    }

    void check_load_balancers() {
        if (c_.primary() == nullptr) {
            add(fmt::format("h2e_load_balancers cluster_id={}", c_.id), "role",
                "the cluster has no primary load balancer");
        }
        std::map<Role, int> roles;
        std::set<IpAddress> mgmt;
        for (const auto& lb : c_.load_balancers) {
            const auto obj =
                fmt::format("h2e_load_balancers cluster_id={} role={}", c_.id, to_string(lb.role));
            if (++roles[lb.role] == 2) {
                add(obj, "role", "more than one load balancer has this role");
            }
            check_host_address(obj, "mgmt_address", lb.mgmt_address, std::nullopt, false);
            if (!mgmt.insert(lb.mgmt_address).second) {
                add(obj, "mgmt_address",
                    fmt::format("{} is also another load balancer's address",
                                lb.mgmt_address.str()));
            }
            check_port(obj, lb.ssh_port);
            if (!is_valid_interface_name(lb.vip_interface)) {
                add(obj, "vip_interface",
                    fmt::format("{:?} is not an interface name (1 to 15 of letters, digits, "
                                "'_', '.', '-')",
                                lb.vip_interface));
            }
        }
    }

    // docs/ha.md: the columns always; the router id and the LBs against the other clusters that
    // use VRRP only when this one does.
    void check_ha() {
        const auto obj = fmt::format("h2e_clusters cluster_id={}", c_.id);
        if (c_.vrrp_router_id && (*c_.vrrp_router_id < 1 || *c_.vrrp_router_id > 255)) {
            add(obj, "vrrp_router_id", fmt::format("{} is not 1..255", *c_.vrrp_router_id));
        }
        if (c_.vrrp_advert_int < 1 || c_.vrrp_advert_int > 255) {
            add(obj, "vrrp_advert_int",
                fmt::format("{} is not 1..255 seconds", c_.vrrp_advert_int));
        }
        if (!c_.uses_vrrp()) {
            return;
        }
        if (!c_.vrrp_router_id && (c_.id < 1 || c_.id > 255)) {
            add(obj, "vrrp_router_id",
                fmt::format("null, and the cluster id {} is no VRRP router id (1..255): set one",
                            c_.id));
        }
        for (const auto& other : c_.vrrp_neighbours) {
            if (other.router_id == c_.router_id()) {
                add(obj, "vrrp_router_id",
                    fmt::format("{} is also cluster {}'s (VRRP router ids must differ among the "
                                "clusters that use VRRP)",
                                c_.router_id(), other.cluster_id));
            }
            for (const auto& lb : c_.load_balancers) {
                if (std::find(other.load_balancers.begin(), other.load_balancers.end(),
                              lb.mgmt_address) != other.load_balancers.end()) {
                    add(fmt::format("h2e_load_balancers cluster_id={} role={}", c_.id,
                                    to_string(lb.role)),
                        "mgmt_address",
                        fmt::format("{} is also a load balancer of cluster {}, which uses VRRP "
                                    "too: an LB's keepalived.conf is one cluster's (set ha = "
                                    "'external' on one of them)",
                                    lb.mgmt_address.str(), other.cluster_id));
                }
            }
        }
    }

    void check_servers() {
        std::set<std::int64_t> ids;
        std::map<IpAddress, std::string> owner;  // every real-server address -> who has it
        for (const auto& s : c_.servers) {
            const auto obj = fmt::format("apache_h2e_nodes node_id={}", s.node_id);
            if (s.node_id <= 0 || s.node_id > 0x7fffffff) {
                add(obj, "node_id", "not a positive integer");
            }
            if (!ids.insert(s.node_id).second) {
                add(obj, "node_id", "two servers have this node_id");
            }
            check_host_address(obj, "mgmt_address", s.mgmt_address, std::nullopt, false);
            check_host_address(obj, "address", s.address, Family::inet, true);
            if (s.address_v6) {
                check_host_address(obj, "address_v6", *s.address_v6, Family::inet6, true);
            }
            for (const auto& [column, addr] :
                 {std::pair{"address", &s.address},
                  std::pair{"address_v6", s.address_v6 ? &*s.address_v6 : nullptr}}) {
                if (addr == nullptr) {
                    continue;
                }
                auto [it, fresh] = owner.emplace(*addr, obj);
                if (!fresh) {
                    add(obj, column,
                        fmt::format("{} is also the address of {}", addr->str(), it->second));
                }
            }
            check_port(obj, s.ssh_port);
            if (s.weight < 0 || s.weight > 65535) {
                add(obj, "weight", fmt::format("{} is outside 0..65535", s.weight));
            }
        }
        server_addresses_ = std::move(owner);
    }

    // What an imported lvs.cf left for the piranha backend to write back (docs/migration.md):
    // rows of lvsctl_lvscf_settings, read from the database like any other outside input.
    void check_lvscf() {
        const auto obj = fmt::format("lvsctl_lvscf_settings cluster_id={}", c_.id);
        const auto& l = c_.lvscf;
        for (const auto& [scope, settings] :
             {std::pair{LvsCfScope::global, &l.global},
              std::pair{LvsCfScope::virtual_service, &l.virtual_settings}}) {
            for (const auto& setting : *settings) {
                if (auto why = lvscf_setting_problem(scope, setting); !why.empty()) {
                    add(fmt::format("{} scope={}", obj,
                                    scope == LvsCfScope::global ? "global" : "virtual"),
                        setting.key, why);
                }
            }
        }
        for (const auto& [what, word] : {std::pair{"virtual_name", &l.virtual_name},
                                         std::pair{"virtual_name_v6", &l.virtual_name_v6},
                                         std::pair{"address_device", &l.address_device}}) {
            if (*word && !is_lvscf_word(**word)) {
                add(obj + " scope=layout", what,
                    fmt::format("{:?} is not one word of lvs.cf (no blank, quote or brace)",
                                **word));
            }
        }
        for (const auto& s : c_.servers) {
            const auto server_obj = fmt::format("{} scope=server node_id={}", obj, s.node_id);
            if (s.lvscf_name && !is_lvscf_word(*s.lvscf_name)) {
                add(server_obj, "name",
                    fmt::format("{:?} is not one word of lvs.cf (no blank, quote or brace)",
                                *s.lvscf_name));
            }
            for (const auto& setting : s.lvscf_settings) {
                if (auto why = lvscf_setting_problem(LvsCfScope::server, setting); !why.empty()) {
                    add(server_obj, setting.key, why);
                }
            }
        }
    }

    void check_website_ips() {
        std::set<IpAddress> seen;
        const bool v6 = c_.has_v6_website_ips();
        for (const auto& ip : c_.website_ips) {
            const auto obj =
                fmt::format("h2e_cluster_ips cluster_id={} address={}", c_.id, ip.str());
            if (!seen.insert(ip).second) {
                add(obj, "address", "listed twice");
            }
            if (!ip.is_global_unicast()) {
                add(obj, "address",
                    "not a unicast address a website can use (unspecified, loopback, link-local, "
                    "multicast or IPv4-mapped)");
            }
            if (auto it = server_addresses_.find(ip); it != server_addresses_.end()) {
                add(obj, "address",
                    fmt::format("is also the real-server address of {}", it->second));
            }
            // lvsctl would put it on the server's lo and remove it again with the website IP:
            // the way lvsctl reaches the server would come and go with the website.
            for (const auto& server : c_.servers) {
                if (server.mgmt_address == ip) {
                    add(obj, "address",
                        fmt::format("is the management address of apache_h2e_nodes node_id={}",
                                    server.node_id));
                }
            }
            for (const auto& lb : c_.load_balancers) {
                if (lb.mgmt_address == ip) {
                    add(obj, "address",
                        fmt::format("is the {} load balancer's management address",
                                    to_string(lb.role)));
                }
            }
        }
        if (v6) {
            for (const auto& s : c_.servers) {
                if (!s.address_v6) {
                    add(fmt::format("apache_h2e_nodes node_id={}", s.node_id), "address_v6",
                        "the cluster has IPv6 website IPs but this server has no IPv6 address");
                }
            }
        }
    }

    void check_host_address(const std::string& obj, const char* column, const IpAddress& addr,
                            std::optional<Family> family, bool must_be_unicast) {
        if (family && addr.family() != *family) {
            add(obj, column,
                fmt::format("{} is not an {} address", addr.str(), ip_version(*family)));
            return;
        }
        const bool usable = must_be_unicast ? addr.is_global_unicast() : addr != IpAddress();
        if (!usable) {
            add(obj, column, fmt::format("{} is not a usable host address", addr.str()));
        }
    }

    void check_port(const std::string& obj, std::int64_t port) {
        if (port < 1 || port > 65535) {
            add(obj, "ssh_port", fmt::format("{} is not a port (1..65535)", port));
        }
    }

    const Cluster& c_;
    std::vector<Problem> problems_;
    std::map<IpAddress, std::string> server_addresses_;
};

}  // namespace

std::vector<Problem> validate(const Cluster& cluster) {
    return Checker(cluster).run();
}

void validate_or_throw(const Cluster& cluster, std::string_view source) {
    const auto problems = validate(cluster);
    if (problems.empty()) {
        return;
    }
    std::string message = source.empty() ? fmt::format("cluster {}: invalid data:", cluster.id)
                                         : fmt::format("{}: invalid data:", source);
    for (const auto& p : problems) {
        message += "\n  " + p.str();
    }
    throw Error(ExitCode::data, message);
}

bool is_valid_interface_name(std::string_view name) {
    return !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
           all_name_chars(name);
}

bool is_valid_cluster_name(std::string_view name) {
    return !name.empty() && name.size() <= 63 && name[0] != '.' && name[0] != '-' &&
           name[0] != '_' && all_name_chars(name);
}

bool is_valid_program_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && name.front() != '-' && name.front() != '.' &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return is_name_char(c) || c == '+'; });
}

bool is_valid_command_path(std::string_view path) {
    if (path.size() < 2 || path.size() > 4096 || path[0] != '/' ||
        path.find("..") != std::string_view::npos) {
        return false;
    }
    for (char c : path) {
        if (!is_name_char(c) && c != '/' && c != '+') {
            return false;
        }
    }
    return true;
}

bool is_valid_command_line(std::string_view line) {
    const auto space = line.find(' ');
    if (!is_valid_command_path(line.substr(0, space))) {
        return false;
    }
    if (space == std::string_view::npos) {
        return true;
    }
    std::string_view rest = line.substr(space + 1);
    for (;;) {
        const auto next = rest.find(' ');
        const auto word = rest.substr(0, next);
        if (word.empty() || word.size() > 4096) {
            return false;
        }
        for (char c : word) {
            if (!is_name_char(c) && c != '/' && c != '+' && c != ':' && c != '=' && c != ',' &&
                c != '@' && c != '%') {
                return false;
            }
        }
        if (next == std::string_view::npos) {
            return true;
        }
        rest = rest.substr(next + 1);
    }
}

std::string regex_problem(const std::string& expect) {
    regex_t compiled;
    const int rc = regcomp(&compiled, expect.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&compiled);
        return {};
    }
    char why[256];
    regerror(rc, &compiled, why, sizeof why);
    return fmt::format("{:?} is not a POSIX extended regular expression (check_use_regex): {}",
                       expect, why);
}

}  // namespace lvsctl
