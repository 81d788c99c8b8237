#include "lvsctl/json_output.h"

#include <nlohmann/json.hpp>

namespace lvsctl {

std::string error_document(std::string_view message, ExitCode code) {
    const nlohmann::ordered_json doc = {
        {"changed", false},
        {"errors", {std::string(message)}},
        {"exit_code", static_cast<int>(code)},
    };
    return doc.dump(2) + "\n";
}

std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content) {
    const nlohmann::ordered_json doc = {
        {"cluster", {{"id", cluster_id}, {"name", std::string(cluster_name)}}},
        {"format", std::string(format)},
        {"content", std::string(content)},
    };
    return doc.dump(2) + "\n";
}

std::string hook_document(std::string_view what, std::string_view note) {
    const nlohmann::ordered_json doc = {{"changed", true},
                                        {"errors", nlohmann::ordered_json::array()},
                                        {"done", {std::string(what)}},
                                        {"note", std::string(note)}};
    return doc.dump(2) + "\n";
}

std::string agent_report_document(const IpvsReport& report,
                                  const std::vector<std::string>& errors) {
    const nlohmann::ordered_json doc = {
        {"changed", report.changed()},
        {"errors", errors},
        {"done", report.done},
        {"ipvs", {{"changes_sent", report.changes_sent}}},
    };
    return doc.dump(2) + "\n";
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
    return doc.dump(2) + "\n";
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
    return doc.dump(2) + "\n";
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

}  // namespace lvsctl
