#include "lvsctl/protocol/desired_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl {

LbDesiredState desired_state(const Cluster& cluster, const LoadBalancer& lb,
                             std::uint32_t drain_timeout) {
    LbDesiredState s;
    s.cluster_id = cluster.id;
    s.cluster_name = cluster.name;
    s.serial = cluster.serial;
    s.interface = lb.vip_interface;
    s.website_ips = cluster.website_ips;
    std::sort(s.website_ips.begin(), s.website_ips.end());
    s.fwmark = static_cast<std::uint32_t>(cluster.fwmark);
    s.protocol = cluster.protocol;
    for (auto port : cluster.ports) {
        s.ports.push_back(static_cast<std::uint16_t>(port));
    }
    s.drain_timeout = drain_timeout;
    s.vrrp = cluster.uses_vrrp();

    auto service = [&](Family family) {
        Service svc{family,
                    s.fwmark,
                    cluster.scheduler,
                    static_cast<std::uint32_t>(cluster.persistence),
                    {}};
        for (const auto& server : cluster.servers) {
            const auto* addr = family == Family::inet ? &server.address
                               : server.address_v6    ? &*server.address_v6
                                                      : nullptr;
            if (addr == nullptr) {
                continue;
            }
            const auto weight = server.active ? static_cast<std::uint32_t>(server.weight) : 0U;
            svc.destinations.push_back({*addr, 0, cluster.forwarding, weight});
        }
        std::sort(svc.destinations.begin(), svc.destinations.end(),
                  [](const auto& a, const auto& b) { return a.address < b.address; });
        return svc;
    };
    s.services.push_back(service(Family::inet));
    if (cluster.has_v6_website_ips()) {
        s.services.push_back(service(Family::inet6));
    }

    MonitorChecks checks;
    checks.interval = static_cast<std::uint32_t>(cluster.check_interval);
    checks.timeout = static_cast<std::uint32_t>(cluster.check_timeout);
    checks.reentry = static_cast<std::uint32_t>(cluster.check_reentry);
    checks.port = static_cast<std::uint16_t>(cluster.check_port.value_or(cluster.ports.front()));
    checks.send = cluster.check_send.value_or("");
    checks.expect = cluster.check_expect.value_or("");
    checks.use_regex = cluster.check_use_regex;
    checks.program = cluster.check_program.value_or("");
    checks.quiesce = cluster.quiesce_server;
    checks.load_monitor = cluster.load_monitor.value_or("");
    checks.load_scale = static_cast<std::uint32_t>(cluster.load_scale);
    for (const auto& svc : s.services) {
        for (const auto& server : cluster.servers) {
            const auto* addr = svc.family == Family::inet ? &server.address
                               : server.address_v6        ? &*server.address_v6
                                                          : nullptr;
            if (addr != nullptr) {
                checks.servers.push_back({*addr, server.mgmt_address});
            }
        }
    }
    s.checks = std::move(checks);
    return s;
}

std::string to_json(const LbDesiredState& state) {
    using nlohmann::ordered_json;
    ordered_json ips = ordered_json::array();
    for (const auto& ip : state.website_ips) {
        ips.push_back(ip.str());
    }
    ordered_json services = ordered_json::array();
    for (const auto& svc : state.services) {
        ordered_json dests = ordered_json::array();
        for (const auto& d : svc.destinations) {
            dests.push_back({{"address", d.address.str()},
                             {"port", d.port},
                             {"forwarding", to_string(d.forwarding)},
                             {"weight", d.weight}});
        }
        services.push_back({{"family", to_string(svc.family)},
                            {"fwmark", svc.fwmark},
                            {"scheduler", svc.scheduler},
                            {"persistence", svc.persistence},
                            {"destinations", std::move(dests)}});
    }
    ordered_json doc = {
        {"version", state.version},
        {"cluster",
         {{"id", state.cluster_id}, {"name", state.cluster_name}, {"serial", state.serial}}},
        {"interface", state.interface},
        {"website_ips", std::move(ips)},
        {"marks", {{"fwmark", state.fwmark}, {"protocol", state.protocol}, {"ports", state.ports}}},
        {"services", std::move(services)},
        {"drain_timeout", state.drain_timeout},
    };
    if (state.vrrp) {
        doc["ha"] = "vrrp";
    }
    if (state.checks) {
        const auto& c = *state.checks;
        ordered_json servers = ordered_json::array();
        for (const auto& server : c.servers) {
            servers.push_back(
                {{"address", server.address.str()}, {"mgmt_address", server.mgmt_address.str()}});
        }
        ordered_json checks = {
            {"interval", c.interval},   {"timeout", c.timeout}, {"reentry", c.reentry},
            {"port", c.port},           {"send", c.send},       {"expect", c.expect},
            {"use_regex", c.use_regex}, {"quiesce", c.quiesce}, {"load_scale", c.load_scale},
        };
        if (!c.program.empty()) {
            checks["program"] = c.program;
        }
        if (!c.load_monitor.empty()) {
            checks["load_monitor"] = c.load_monitor;
        }
        checks["servers"] = std::move(servers);
        doc["checks"] = std::move(checks);
    }
    return doc.dump(2) + "\n";
}

}  // namespace lvsctl

namespace lvsctl {

namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
    if (where.empty()) {
        throw Error(ExitCode::data, fmt::format("desired state: {}", why));
    }
    throw Error(ExitCode::data, fmt::format("desired state: {}: {}", where, why));
}

// An object whose keys are exactly `allowed` (all required unless listed in `optional`).
void expect_keys(const json& j, const std::string& where,
                 std::initializer_list<const char*> required,
                 std::initializer_list<const char*> optional = {}) {
    if (!j.is_object()) {
        refuse(where, "expected an object");
    }
    for (const auto& item : j.items()) {
        const std::string& key = item.key();
        const auto known = [&](std::initializer_list<const char*> list) {
            return std::any_of(list.begin(), list.end(), [&](const char* k) { return key == k; });
        };
        if (!known(required) && !known(optional)) {
            refuse(where.empty() ? key : where + "." + key, "unknown key");
        }
    }
    for (const char* key : required) {
        if (!j.contains(key)) {
            refuse(where.empty() ? key : where + "." + key, "missing");
        }
    }
}

std::string at(const std::string& where, const char* key) {
    return where.empty() ? key : where + "." + key;
}

std::int64_t integer(const json& j, const std::string& where, std::int64_t lo, std::int64_t hi) {
    if (!j.is_number_integer()) {
        refuse(where, "expected a whole number");
    }
    const auto n = j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)
                       ? hi + 1
                       : j.get<std::int64_t>();
    if (n < lo || n > hi) {
        refuse(where, fmt::format("{} is outside {}..{}", j.dump(), lo, hi));
    }
    return n;
}

std::string text(const json& j, const std::string& where) {
    if (!j.is_string()) {
        refuse(where, "expected a string");
    }
    return j.get<std::string>();
}

const json& array(const json& j, const std::string& where) {
    if (!j.is_array()) {
        refuse(where, "expected a list");
    }
    return j;
}

IpAddress address(const json& j, const std::string& where, std::optional<Family> family) {
    const auto t = text(j, where);
    const auto ip = IpAddress::parse(t);
    if (!ip) {
        refuse(where, fmt::format("{:?} is not an IP address", t));
    }
    if (family && ip->family() != *family) {
        refuse(where, fmt::format("{} is not an {} address", t,
                                  *family == Family::inet ? "IPv4" : "IPv6"));
    }
    return *ip;
}

Family family(const json& j, const std::string& where) {
    const auto t = text(j, where);
    if (const auto f = parse_family(t)) {
        return *f;
    }
    refuse(where, fmt::format("{:?} is not inet or inet6", t));
}

// One part of the document each, in the document's order; `s` gets what they read.
void parse_cluster(const json& cluster, LbDesiredState& s) {
    expect_keys(cluster, "cluster", {"id", "name", "serial"});
    s.cluster_id = integer(cluster["id"], "cluster.id", 1, 0x7fffffff);
    s.cluster_name = text(cluster["name"], "cluster.name");
    if (!is_valid_cluster_name(s.cluster_name)) {
        refuse("cluster.name", fmt::format("{:?} is not a valid cluster name", s.cluster_name));
    }
    s.serial = integer(cluster["serial"], "cluster.serial", 0, 0x7fffffff);
}

void parse_interface(const json& j, LbDesiredState& s) {
    s.interface = text(j, "interface");
    if (!is_valid_interface_name(s.interface)) {
        refuse("interface", fmt::format("{:?} is not an interface name", s.interface));
    }
}

void parse_website_ips(const json& j, LbDesiredState& s) {
    std::set<IpAddress> seen;
    const auto& ips = array(j, "website_ips");
    for (std::size_t i = 0; i < ips.size(); ++i) {
        const auto where = fmt::format("website_ips[{}]", i);
        const auto ip = address(ips[i], where, std::nullopt);
        if (!ip.is_global_unicast()) {
            refuse(where, fmt::format("{} is not a unicast address a website can use", ip.str()));
        }
        if (!seen.insert(ip).second) {
            refuse(where, fmt::format("{} is listed twice", ip.str()));
        }
        s.website_ips.push_back(ip);
    }
}

void parse_marks(const json& marks, LbDesiredState& s) {
    expect_keys(marks, "marks", {"fwmark", "protocol", "ports"});
    s.fwmark =
        static_cast<std::uint32_t>(integer(marks["fwmark"], "marks.fwmark", 1, 0xffffffffLL));
    s.protocol = text(marks["protocol"], "marks.protocol");
    if (s.protocol != "tcp" && s.protocol != "udp" && s.protocol != "sctp") {
        refuse("marks.protocol", fmt::format("{:?} is not tcp, udp or sctp", s.protocol));
    }
    const auto& ports = array(marks["ports"], "marks.ports");
    if (ports.empty()) {
        refuse("marks.ports", "no port");
    }
    for (std::size_t i = 0; i < ports.size(); ++i) {
        const auto port = static_cast<std::uint16_t>(
            integer(ports[i], fmt::format("marks.ports[{}]", i), 1, 65535));
        if (std::find(s.ports.begin(), s.ports.end(), port) != s.ports.end()) {
            refuse(fmt::format("marks.ports[{}]", i), fmt::format("port {} is listed twice", port));
        }
        s.ports.push_back(port);
    }
}

Destination parse_destination(const json& d, const std::string& where, Family family) {
    expect_keys(d, where, {"address", "port", "forwarding", "weight"});
    Destination dest;
    dest.address = address(d["address"], at(where, "address"), family);
    dest.port = static_cast<std::uint16_t>(integer(d["port"], at(where, "port"), 0, 65535));
    const auto fwd = text(d["forwarding"], at(where, "forwarding"));
    const auto parsed = parse_forwarding(fwd);
    if (!parsed) {
        refuse(at(where, "forwarding"), fmt::format("{:?} is not route, masq or tunnel", fwd));
    }
    dest.forwarding = *parsed;
    dest.weight = static_cast<std::uint32_t>(integer(d["weight"], at(where, "weight"), 0, 65535));
    return dest;
}

// A service marks with the document's mark: the agent marks packets with marks.fwmark and owns
// the services by it, so a service of another mark would never see a packet.
Service parse_service(const json& j, const std::string& where, std::uint32_t fwmark,
                      std::set<std::pair<Family, std::uint32_t>>& seen_services) {
    expect_keys(j, where, {"family", "fwmark", "scheduler", "persistence", "destinations"});
    Service svc;
    svc.family = family(j["family"], at(where, "family"));
    svc.fwmark =
        static_cast<std::uint32_t>(integer(j["fwmark"], at(where, "fwmark"), 1, 0xffffffffLL));
    if (!seen_services.emplace(svc.family, svc.fwmark).second) {
        refuse(where, "a second service with this family and fwmark");
    }
    if (svc.fwmark != fwmark) {
        refuse(at(where, "fwmark"), fmt::format("{} is not marks.fwmark ({})", svc.fwmark, fwmark));
    }
    svc.scheduler = text(j["scheduler"], at(where, "scheduler"));
    if (!is_known_scheduler(svc.scheduler)) {
        refuse(at(where, "scheduler"), fmt::format("unknown IPVS scheduler {:?}", svc.scheduler));
    }
    svc.persistence = static_cast<std::uint32_t>(
        integer(j["persistence"], at(where, "persistence"), 0, 0x7fffffff));
    const auto& dests = array(j["destinations"], at(where, "destinations"));
    std::set<IpAddress> seen;
    for (std::size_t k = 0; k < dests.size(); ++k) {
        const auto dwhere = fmt::format("{}.destinations[{}]", where, k);
        auto dest = parse_destination(dests[k], dwhere, svc.family);
        if (!seen.insert(dest.address).second) {
            refuse(at(dwhere, "address"), fmt::format("{} is listed twice", dest.address.str()));
        }
        svc.destinations.push_back(std::move(dest));
    }
    return svc;
}

bool boolean(const json& j, const std::string& where) {
    if (!j.is_boolean()) {
        refuse(where, "expected true or false");
    }
    return j.get<bool>();
}

std::string command_path(const json& j, const std::string& where) {
    auto path = text(j, where);
    if (!is_valid_command_path(path)) {
        refuse(where, fmt::format("{:?} is not an absolute program path of letters, digits and "
                                  "_ . / + -",
                                  path));
    }
    return path;
}

// After the services: every checked server is one of their destinations, and each destination
// is checked.
void parse_checks(const json& j, LbDesiredState& s) {
    expect_keys(j, "checks",
                {"interval", "timeout", "reentry", "port", "send", "expect", "use_regex", "quiesce",
                 "load_scale", "servers"},
                {"program", "load_monitor"});
    MonitorChecks c;
    c.interval = static_cast<std::uint32_t>(integer(j["interval"], "checks.interval", 1, 86400));
    c.timeout = static_cast<std::uint32_t>(integer(j["timeout"], "checks.timeout", 1, 86400));
    c.reentry = static_cast<std::uint32_t>(integer(j["reentry"], "checks.reentry", 0, 86400));
    c.port = static_cast<std::uint16_t>(integer(j["port"], "checks.port", 1, 65535));
    c.send = text(j["send"], "checks.send");
    c.expect = text(j["expect"], "checks.expect");
    c.use_regex = boolean(j["use_regex"], "checks.use_regex");
    if (c.use_regex) {
        if (auto why = regex_problem(c.expect); !why.empty()) {
            refuse("checks.expect", why);
        }
    }
    c.quiesce = boolean(j["quiesce"], "checks.quiesce");
    c.load_scale =
        static_cast<std::uint32_t>(integer(j["load_scale"], "checks.load_scale", 1, 1000));
    if (j.contains("program")) {
        c.program = text(j["program"], "checks.program");
        if (!is_valid_command_line(c.program)) {
            refuse("checks.program", fmt::format("{:?} is not a program path and arguments "
                                                 "without a shell's characters",
                                                 c.program));
        }
    }
    if (j.contains("load_monitor")) {
        c.load_monitor = command_path(j["load_monitor"], "checks.load_monitor");
    }
    std::set<IpAddress> destinations;
    for (const auto& svc : s.services) {
        for (const auto& d : svc.destinations) {
            destinations.insert(d.address);
        }
    }
    std::set<IpAddress> seen;
    const auto& servers = array(j["servers"], "checks.servers");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const auto where = fmt::format("checks.servers[{}]", i);
        expect_keys(servers[i], where, {"address", "mgmt_address"});
        const auto addr = address(servers[i]["address"], at(where, "address"), std::nullopt);
        if (!destinations.contains(addr)) {
            refuse(at(where, "address"), fmt::format("{} is not a destination", addr.str()));
        }
        if (!seen.insert(addr).second) {
            refuse(at(where, "address"), fmt::format("{} is listed twice", addr.str()));
        }
        c.servers.push_back(
            {addr, address(servers[i]["mgmt_address"], at(where, "mgmt_address"), std::nullopt)});
    }
    for (const auto& d : destinations) {
        if (!seen.contains(d)) {
            refuse("checks.servers", fmt::format("destination {} is not listed", d.str()));
        }
    }
    s.checks = std::move(c);
}

void parse_services(const json& j, LbDesiredState& s) {
    const auto& services = array(j, "services");
    std::set<std::pair<Family, std::uint32_t>> seen;
    for (std::size_t i = 0; i < services.size(); ++i) {
        const auto where = fmt::format("services[{}]", i);
        s.services.push_back(parse_service(services[i], where, s.fwmark, seen));
    }
}

}  // namespace

LbDesiredState parse_desired_state(std::string_view input) {
    json doc;
    try {
        doc = json::parse(input);
    } catch (const json::exception& e) {  // parse_error, or out_of_range: a number too large
        throw Error(ExitCode::data, fmt::format("desired state: not JSON: {}", e.what()));
    }
    LbDesiredState s;
    expect_keys(doc, "", {"version", "cluster", "interface", "website_ips", "marks", "services"},
                {"drain_timeout", "checks", "ha"});
    s.version = static_cast<int>(integer(doc["version"], "version", 1, 1));
    parse_cluster(doc["cluster"], s);
    parse_interface(doc["interface"], s);
    parse_website_ips(doc["website_ips"], s);
    parse_marks(doc["marks"], s);
    parse_services(doc["services"], s);
    if (doc.contains("drain_timeout")) {
        s.drain_timeout =
            static_cast<std::uint32_t>(integer(doc["drain_timeout"], "drain_timeout", 0, 86400));
    }
    if (doc.contains("checks")) {
        parse_checks(doc["checks"], s);
    }
    if (doc.contains("ha")) {
        const auto ha = text(doc["ha"], "ha");
        if (ha != "vrrp" && ha != "external") {
            refuse("ha", fmt::format("{:?} is not vrrp or external", ha));
        }
        s.vrrp = ha == "vrrp";
    }
    return s;
}

}  // namespace lvsctl
