#include "lvsctl/agent_state.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "lvsctl/error.h"

namespace lvsctl {

std::string to_json(const AgentState& state) {
    nlohmann::ordered_json services = nlohmann::ordered_json::array();
    for (const auto& key : state.services) {
        services.push_back({{"family", to_string(key.family)}, {"fwmark", key.fwmark}});
    }
    nlohmann::ordered_json vips = nlohmann::ordered_json::array();
    for (const auto& ip : state.vips) {
        vips.push_back(ip.str());
    }
    const nlohmann::ordered_json doc = {{"version", 1},
                                        {"services", std::move(services)},
                                        {"interface", state.interface},
                                        {"vips", std::move(vips)},
                                        {"marks", state.marks},
                                        {"marks_via", state.marks_via}};
    return doc.dump(2) + "\n";
}

AgentState parse_agent_state(std::string_view text, std::string_view source) {
    auto bad = [&](const std::string& why) {
        return Error(ExitCode::data,
                     fmt::format("{}: {} (remove the file if the agent should forget what it owns)",
                                 source, why));
    };
    AgentState state;
    try {
        const auto doc = nlohmann::json::parse(text);
        if (doc.at("version") != 1) {
            throw bad("unknown version");
        }
        for (const auto& s : doc.at("services")) {
            const auto family = s.at("family").get<std::string>();
            const auto mark = s.at("fwmark").get<std::uint32_t>();
            if ((family != "inet" && family != "inet6") || mark == 0) {
                throw bad("a service that is not a (family, fwmark) pair");
            }
            state.services.push_back(
                ServiceKey::fwmark_service(family == "inet" ? Family::inet : Family::inet6, mark));
        }
        state.interface = doc.value("interface", "");
        state.marks_via = doc.value("marks_via", "");
        for (const auto& v : doc.value("vips", nlohmann::json::array())) {
            const auto ip = IpAddress::parse(v.get<std::string>());
            if (!ip) {
                throw bad("a VIP that is not an address");
            }
            state.vips.push_back(*ip);
        }
        for (const auto& m : doc.value("marks", nlohmann::json::array())) {
            state.marks.push_back(m.get<std::uint32_t>());
        }
    } catch (const nlohmann::json::exception& e) {
        throw bad(e.what());
    }
    return state;
}

}  // namespace lvsctl
