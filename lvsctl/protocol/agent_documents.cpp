#include "lvsctl/protocol/agent_documents.h"

#include <fmt/format.h>

#include <stdexcept>

#include "lvsctl/error.h"
#include "lvsctl/protocol/codec.h"

namespace lvsctl {

std::string agent_answer_document(const AgentAnswer& answer) {
    const nlohmann::ordered_json doc = {
        {"changed", answer.changed},
        {"errors", answer.errors},
        {"done", answer.done},
        {"ipvs", {{"changes_sent", answer.changes_sent}}},
    };
    return codec::text(doc);
}

AgentAnswer parse_agent_answer(std::string_view json, std::string_view host) {
    AgentAnswer answer;
    try {
        const auto doc = nlohmann::json::parse(json);
        answer.changed = doc.at("changed").get<bool>();
        answer.errors = doc.at("errors").get<std::vector<std::string>>();
        answer.done = doc.value("done", std::vector<std::string>{});
        if (const auto ipvs = doc.find("ipvs"); ipvs != doc.end() && ipvs->is_object()) {
            answer.changes_sent = ipvs->value("changes_sent", std::size_t{0});
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(
            ExitCode::partial,
            fmt::format("{}: the agent's answer is not its JSON report: {}", host, e.what()));
    }
    return answer;
}

std::string agent_show_document(const std::vector<ServiceInfo>& services, const PlacedState& placed,
                                const std::vector<MonitorShown>& monitors) {
    auto ips = nlohmann::ordered_json::array();
    for (const auto& ip : placed.website_ips) {
        ips.push_back(ip.str());
    }
    auto shown = nlohmann::ordered_json::array();
    for (const auto& m : monitors) {
        shown.push_back(
            {{"current", m.current}, {"age", m.age}, {"record", codec::health(m.record)}});
    }
    const nlohmann::ordered_json doc = {
        {"version", 1},
        {"interface", placed.interface},
        {"website_ips", std::move(ips)},
        {"marks", {{"fwmarks", placed.marks}, {"via", placed.marks_via}}},
        {"services", codec::services(services)},
        {"monitors", std::move(shown)},
    };
    return codec::text(doc);
}

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
            svc.key = codec::parse_service_key(s);
            svc.settings.scheduler = s.at("scheduler").get<std::string>();
            svc.settings.timeout = s.at("persistence").get<std::uint32_t>();
            svc.settings.flags = svc.settings.timeout > 0 ? kSvcPersistent : 0;
            svc.settings.netmask = svc.key.family == Family::inet ? 0xffffffffU : 128U;
            svc.stats = codec::parse_stats(s.value("stats", nlohmann::json::object()));
            for (const auto& d : s.at("destinations")) {
                DestInfo dest;
                dest.key.address = address(d.at("address"));
                dest.key.port = d.at("port").get<std::uint16_t>();
                dest.settings.forward = codec::parse_forward(d.at("forwarding").get<std::string>());
                dest.settings.weight = d.at("weight").get<std::uint32_t>();
                dest.active_conns = d.value("active_conns", std::uint32_t{0});
                dest.inactive_conns = d.value("inactive_conns", std::uint32_t{0});
                dest.stats = codec::parse_stats(d.value("stats", nlohmann::json::object()));
                svc.dests.push_back(std::move(dest));
            }
            show.services.push_back(std::move(svc));
        }
        if (const auto monitors = doc.find("monitors"); monitors != doc.end()) {
            for (const auto& m : *monitors) {
                show.monitors.push_back({codec::parse_health(m.at("record")),
                                         m.at("current").get<bool>(),
                                         m.at("age").get<std::int64_t>()});
            }
        }
    } catch (const std::exception& e) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: agent show: not its JSON document: {}", host, e.what()));
    }
    return show;
}

}  // namespace lvsctl
