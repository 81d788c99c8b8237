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
            answer.changes_sent =
                codec::integer_or<std::size_t>(*ipvs, "changes_sent", std::size_t{0});
        }
    } catch (const std::exception& e) {  // nlohmann's errors and codec's
        throw Error(
            ExitCode::partial,
            fmt::format("{}: the agent's answer is not its JSON report: {}", host, e.what()));
    }
    return answer;
}

std::string vrrp_record_name(std::int64_t cluster_id) {
    return fmt::format("vrrp-cluster-{}.json", cluster_id);
}

namespace {
nlohmann::ordered_json vrrp_json(const VrrpState& s) {
    return {{"cluster_id", s.cluster_id},
            {"instance", s.instance},
            {"state", s.state},
            {"priority", s.priority},
            {"since", s.since}};
}

VrrpState parse_vrrp_json(const nlohmann::json& j) {
    VrrpState s;
    s.cluster_id = codec::integer<std::int64_t>(j.at("cluster_id"), "cluster_id");
    s.instance = j.at("instance").get<std::string>();
    s.state = j.at("state").get<std::string>();
    s.priority = codec::integer<std::int64_t>(j.at("priority"), "priority");
    s.since = codec::integer<std::int64_t>(j.at("since"), "since");
    return s;
}
}  // namespace

std::string vrrp_state_document(const VrrpState& state) {
    return codec::text(vrrp_json(state));
}

VrrpState parse_vrrp_state(std::string_view json, std::string_view where) {
    try {
        return parse_vrrp_json(nlohmann::json::parse(json));
    } catch (const std::exception& e) {  // nlohmann's errors and codec's
        throw Error(ExitCode::data,
                    fmt::format("{}: not a VRRP state record: {}", where, e.what()));
    }
}

std::string agent_show_document(const std::vector<ServiceInfo>& services, const PlacedState& placed,
                                const std::vector<MonitorShown>& monitors,
                                const std::vector<VrrpState>& vrrp,
                                const std::vector<SyncDaemon>& sync_daemons) {
    auto ips = nlohmann::ordered_json::array();
    for (const auto& ip : placed.website_ips) {
        ips.push_back(ip.str());
    }
    auto shown = nlohmann::ordered_json::array();
    for (const auto& m : monitors) {
        shown.push_back(
            {{"current", m.current}, {"age", m.age}, {"record", codec::health(m.record)}});
    }
    nlohmann::ordered_json doc = {
        {"version", 1},
        {"interface", placed.interface},
        {"website_ips", std::move(ips)},
        {"marks", {{"fwmarks", placed.marks}, {"via", placed.marks_via}}},
        {"services", codec::services(services)},
        {"monitors", std::move(shown)},
    };
    auto states = nlohmann::ordered_json::array();
    for (const auto& v : vrrp) {
        auto j = vrrp_json(v);
        j["age"] = v.age;
        states.push_back(std::move(j));
    }
    doc["vrrp"] = std::move(states);
    auto daemons = nlohmann::ordered_json::array();
    for (const auto& d : sync_daemons) {
        daemons.push_back({{"state", d.state}, {"interface", d.interface}, {"sync_id", d.sync_id}});
    }
    doc["sync_daemons"] = std::move(daemons);
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
            svc.settings.timeout =
                codec::integer<std::uint32_t>(s.at("persistence"), "persistence");
            svc.settings.flags = svc.settings.timeout > 0 ? kSvcPersistent : 0;
            svc.settings.netmask = svc.key.family == Family::inet ? 0xffffffffU : 128U;
            svc.stats = codec::parse_stats(s.value("stats", nlohmann::json::object()));
            for (const auto& d : s.at("destinations")) {
                DestInfo dest;
                dest.key.address = address(d.at("address"));
                dest.key.port = codec::integer<std::uint16_t>(d.at("port"), "port");
                dest.settings.forward = codec::parse_forward(d.at("forwarding").get<std::string>());
                dest.settings.weight = codec::integer<std::uint32_t>(d.at("weight"), "weight");
                dest.active_conns =
                    codec::integer_or<std::uint32_t>(d, "active_conns", std::uint32_t{0});
                dest.inactive_conns =
                    codec::integer_or<std::uint32_t>(d, "inactive_conns", std::uint32_t{0});
                dest.stats = codec::parse_stats(d.value("stats", nlohmann::json::object()));
                svc.dests.push_back(std::move(dest));
            }
            show.services.push_back(std::move(svc));
        }
        if (const auto monitors = doc.find("monitors"); monitors != doc.end()) {
            for (const auto& m : *monitors) {
                show.monitors.push_back({codec::parse_health(m.at("record")),
                                         m.at("current").get<bool>(),
                                         codec::integer<std::int64_t>(m.at("age"), "age")});
            }
        }
        if (const auto vrrp = doc.find("vrrp"); vrrp != doc.end()) {
            for (const auto& v : *vrrp) {
                auto state = parse_vrrp_json(v);
                state.age = codec::integer<std::int64_t>(v.at("age"), "age");
                show.vrrp.push_back(std::move(state));
            }
        }
        if (const auto daemons = doc.find("sync_daemons"); daemons != doc.end()) {
            for (const auto& d : *daemons) {
                show.sync_daemons.push_back(
                    {d.at("state").get<std::string>(), d.at("interface").get<std::string>(),
                     codec::integer<std::uint32_t>(d.at("sync_id"), "sync_id")});
            }
        }
    } catch (const std::exception& e) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: agent show: not its JSON document: {}", host, e.what()));
    }
    return show;
}

}  // namespace lvsctl
