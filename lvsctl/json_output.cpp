#include "lvsctl/json_output.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace lvsctl {

namespace {
// A document as text that every reader takes, whatever bytes hosts printed into its strings:
// bytes that are not UTF-8 become U+FFFD (nlohmann would throw after the hosts changed), and
// so does NUL, which JSON allows as \u0000 but PostgreSQL's jsonb (the run log) refuses.
std::string text(const nlohmann::ordered_json& doc) {
    auto out = doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    constexpr std::string_view kNul = "\\u0000";
    for (std::size_t i = out.find('\\'); i != std::string::npos; i = out.find('\\', i)) {
        // Outside strings there is no backslash; inside, each starts an escape of its own.
        if (out.compare(i, kNul.size(), kNul) == 0) {
            out.replace(i, kNul.size(), "\\ufffd");
        }
        i += 2;
    }
    return out + "\n";
}
}  // namespace

std::string error_document(std::string_view message, ExitCode code) {
    const nlohmann::ordered_json doc = {
        {"changed", false},
        {"errors", {std::string(message)}},
        {"exit_code", static_cast<int>(code)},
    };
    return text(doc);
}

std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content) {
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster_id}, {"name", std::string(cluster_name)}}},
        {"format", std::string(format)},
        {"content", std::string(content)},
    };
    return text(doc);
}

std::string hook_document(std::string_view what, std::string_view note) {
    const nlohmann::ordered_json doc = {{"changed", true},
                                        {"errors", nlohmann::ordered_json::array()},
                                        {"done", {std::string(what)}},
                                        {"note", std::string(note)}};
    return text(doc);
}

std::string agent_report_document(const IpvsReport& report,
                                  const std::vector<std::string>& errors) {
    const nlohmann::ordered_json doc = {
        {"changed", report.changed()},
        {"errors", errors},
        {"done", report.done},
        {"ipvs", {{"changes_sent", report.changes_sent}}},
    };
    return text(doc);
}

namespace {
nlohmann::ordered_json stats_json(const IpvsStats& s) {
    return {{"conns", s.conns},     {"inpkts", s.inpkts},     {"outpkts", s.outpkts},
            {"inbytes", s.inbytes}, {"outbytes", s.outbytes}, {"cps", s.cps},
            {"inpps", s.inpps},     {"outpps", s.outpps},     {"inbps", s.inbps},
            {"outbps", s.outbps}};
}

}  // namespace

namespace {
nlohmann::ordered_json services_json(const std::vector<ServiceInfo>& services);
}

std::string kernel_table_document(const std::vector<ServiceInfo>& services) {
    const nlohmann::ordered_json doc = {{"version", 1}, {"services", services_json(services)}};
    return text(doc);
}

std::string agent_show_document(const std::vector<ServiceInfo>& services,
                                const PlacedState& placed) {
    auto ips = nlohmann::ordered_json::array();
    for (const auto& ip : placed.website_ips) {
        ips.push_back(ip.str());
    }
    const nlohmann::ordered_json doc = {
        {"version", 1},
        {"interface", placed.interface},
        {"website_ips", std::move(ips)},
        {"marks", {{"fwmarks", placed.marks}, {"via", placed.marks_via}}},
        {"services", services_json(services)},
    };
    return text(doc);
}

namespace {
nlohmann::ordered_json services_json(const std::vector<ServiceInfo>& services) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& svc : services) {
        nlohmann::ordered_json j = {{"family", to_string(svc.key.family)}};
        if (svc.key.fwmark != 0) {
            j["fwmark"] = svc.key.fwmark;
        } else {
            j["protocol"] = svc.key.protocol;
            j["address"] = svc.key.address.str();
            j["port"] = svc.key.port;
        }
        j["scheduler"] = svc.settings.scheduler;
        j["persistence"] = (svc.settings.flags & kSvcPersistent) != 0 ? svc.settings.timeout : 0;
        j["stats"] = stats_json(svc.stats);
        auto dests = nlohmann::ordered_json::array();
        for (const auto& d : svc.dests) {
            dests.push_back({{"address", d.key.address.str()},
                             {"port", d.key.port},
                             {"forwarding", json_name(d.settings.forward)},
                             {"weight", d.settings.weight},
                             {"active_conns", d.active_conns},
                             {"inactive_conns", d.inactive_conns},
                             {"stats", stats_json(d.stats)}});
        }
        j["destinations"] = std::move(dests);
        list.push_back(std::move(j));
    }
    return list;
}
}  // namespace

namespace {
IpvsStats parse_stats(const nlohmann::json& j) {
    IpvsStats s;
    s.conns = j.value("conns", std::uint64_t{0});
    s.inpkts = j.value("inpkts", std::uint64_t{0});
    s.outpkts = j.value("outpkts", std::uint64_t{0});
    s.inbytes = j.value("inbytes", std::uint64_t{0});
    s.outbytes = j.value("outbytes", std::uint64_t{0});
    s.cps = j.value("cps", std::uint64_t{0});
    s.inpps = j.value("inpps", std::uint64_t{0});
    s.outpps = j.value("outpps", std::uint64_t{0});
    s.inbps = j.value("inbps", std::uint64_t{0});
    s.outbps = j.value("outbps", std::uint64_t{0});
    return s;
}

IpvsForward parse_forward(const std::string& name) {
    for (const auto f : {IpvsForward::masq, IpvsForward::local, IpvsForward::tunnel,
                         IpvsForward::route, IpvsForward::bypass}) {
        if (json_name(f) == name) {
            return f;
        }
    }
    throw std::invalid_argument("unknown forwarding " + name);
}
}  // namespace

AgentShow parse_agent_show(std::string_view json, std::string_view host) {
    AgentShow show;
    try {
        const auto doc = nlohmann::json::parse(json);
        auto address = [](const nlohmann::json& j) {
            const auto ip = IpAddress::parse(j.get<std::string>());
            if (!ip) {
                throw std::invalid_argument("not an address: " + j.get<std::string>());
            }
            return *ip;
        };
        show.placed.interface = doc.at("interface").get<std::string>();
        for (const auto& ip : doc.at("website_ips")) {
            show.placed.website_ips.push_back(address(ip));
        }
        show.placed.marks = doc.at("marks").at("fwmarks").get<std::vector<std::uint32_t>>();
        show.placed.marks_via = doc.at("marks").at("via").get<std::string>();
        for (const auto& s : doc.at("services")) {
            ServiceInfo svc;
            const auto family = s.at("family").get<std::string>();
            svc.key.family = family == "inet6" ? Family::inet6 : Family::inet;
            if (s.contains("fwmark")) {
                svc.key =
                    ServiceKey::fwmark_service(svc.key.family, s.at("fwmark").get<std::uint32_t>());
            } else {
                svc.key.protocol = s.at("protocol").get<std::uint16_t>();
                svc.key.address = address(s.at("address"));
                svc.key.port = s.at("port").get<std::uint16_t>();
            }
            svc.settings.scheduler = s.at("scheduler").get<std::string>();
            svc.settings.timeout = s.at("persistence").get<std::uint32_t>();
            svc.settings.flags = svc.settings.timeout > 0 ? kSvcPersistent : 0;
            svc.settings.netmask = svc.key.family == Family::inet ? 0xffffffffU : 128U;
            svc.stats = parse_stats(s.value("stats", nlohmann::json::object()));
            for (const auto& d : s.at("destinations")) {
                DestInfo dest;
                dest.key.address = address(d.at("address"));
                dest.key.port = d.at("port").get<std::uint16_t>();
                dest.settings.forward = parse_forward(d.at("forwarding").get<std::string>());
                dest.settings.weight = d.at("weight").get<std::uint32_t>();
                dest.active_conns = d.value("active_conns", std::uint32_t{0});
                dest.inactive_conns = d.value("inactive_conns", std::uint32_t{0});
                dest.stats = parse_stats(d.value("stats", nlohmann::json::object()));
                svc.dests.push_back(std::move(dest));
            }
            show.services.push_back(std::move(svc));
        }
    } catch (const std::exception& e) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: agent show: not its JSON document: {}", host, e.what()));
    }
    return show;
}

std::string update_document(const Cluster& cluster, const UpdateResult& result, bool dry_run,
                            ExitCode code, std::string_view lvs_cf_digest, std::string_view note) {
    auto hosts = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < result.plan.size(); ++i) {
        const auto& p = result.plan[i];
        nlohmann::ordered_json h = {{"host", p.host}, {"plan", p.changes}};
        std::vector<std::string> errors;
        if (p.error) {
            errors.push_back(*p.error);
        }
        if (i < result.applied.size()) {
            h["done"] = result.applied[i].done;
            h["changing_commands"] = result.applied[i].changing_commands;
            if (!p.error) {
                errors = result.applied[i].errors;
            }
        }
        h["errors"] = errors;
        hosts.push_back(std::move(h));
    }
    nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster.id}, {"name", cluster.name}, {"serial", cluster.serial}}},
        {"backend", cluster.backend},
        {"dry_run", dry_run},
        {"pending", result.pending()},
        {"changed", result.changed()},
        {"hosts", std::move(hosts)},
        {"exit_code", static_cast<int>(code)},
        {"lvs_cf_digest", lvs_cf_digest}};
    if (!note.empty()) {
        doc["note"] = note;
    }
    return text(doc);
}

std::string status_document(const Cluster& cluster, const std::vector<HostStatus>& hosts) {
    auto list = nlohmann::ordered_json::array();
    auto strings = [](const std::vector<IpAddress>& ips) {
        auto a = nlohmann::ordered_json::array();
        for (const auto& ip : ips) {
            a.push_back(ip.str());
        }
        return a;
    };
    for (const auto& h : hosts) {
        nlohmann::ordered_json j = {{"host", h.host}};
        if (h.error) {
            j["error"] = *h.error;
        } else {
            j["website_ips"] = {{"interface", h.interface},
                                {"present", strings(h.present)},
                                {"missing", strings(h.missing)}};
            j["drift"] = h.drift;
            if (h.table) {
                j["services"] = services_json(*h.table);
            }
        }
        list.push_back(std::move(j));
    }
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster.id}, {"name", cluster.name}, {"backend", cluster.backend}}},
        {"hosts", std::move(list)}};
    return text(doc);
}

}  // namespace lvsctl
