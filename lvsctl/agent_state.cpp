#include "lvsctl/agent_state.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "lvsctl/error.h"

namespace lvsctl {

namespace {
// A digest's service: the agent's own are fwmark services; the library (and its benchmark) also
// reconciles address:port ones.
nlohmann::ordered_json service_json(const ServiceKey& key) {
    if (key.fwmark != 0) {
        return {{"family", to_string(key.family)}, {"fwmark", key.fwmark}};
    }
    return {{"family", to_string(key.family)},
            {"protocol", key.protocol},
            {"address", key.address.str()},
            {"port", key.port}};
}
}  // namespace

std::string to_json(const AgentState& state) {
    nlohmann::ordered_json services = nlohmann::ordered_json::array();
    for (const auto& key : state.services) {
        services.push_back({{"family", to_string(key.family)}, {"fwmark", key.fwmark}});
    }
    nlohmann::ordered_json vips = nlohmann::ordered_json::array();
    for (const auto& ip : state.vips) {
        vips.push_back(ip.str());
    }
    nlohmann::ordered_json digests = nlohmann::ordered_json::array();
    for (const auto& [key, digest] : state.digests) {
        auto entry = service_json(key);
        entry["digest"] = digest;
        digests.push_back(std::move(entry));
    }
    const nlohmann::ordered_json doc = {{"version", 1},
                                        {"services", std::move(services)},
                                        {"interface", state.interface},
                                        {"vips", std::move(vips)},
                                        {"marks", state.marks},
                                        {"marks_via", state.marks_via},
                                        {"digests", std::move(digests)},
                                        {"last_full", state.last_full}};
    return doc.dump(2) + "\n";
}

AgentState parse_agent_state(std::string_view text, std::string_view source) {
    auto bad = [&](const std::string& why) {
        return Error(ExitCode::data,
                     fmt::format("{}: {} (remove the file if the agent should forget what it owns)",
                                 source, why));
    };
    AgentState state;
    auto service_key = [&](const nlohmann::json& s) {
        const auto family = s.at("family").get<std::string>();
        const auto mark = s.at("fwmark").get<std::uint32_t>();
        if ((family != "inet" && family != "inet6") || mark == 0) {
            throw bad("a service that is not a (family, fwmark) pair");
        }
        return ServiceKey::fwmark_service(family == "inet" ? Family::inet : Family::inet6, mark);
    };
    auto digest_key = [&](const nlohmann::json& d) {
        if (d.contains("fwmark")) {
            return service_key(d);
        }
        ServiceKey key;
        key.protocol = d.at("protocol").get<std::uint16_t>();
        key.port = d.at("port").get<std::uint16_t>();
        const auto address = IpAddress::parse(d.at("address").get<std::string>());
        if (!address || key.protocol == 0 || key.protocol > 255 ||
            to_string(address->family()) != d.at("family").get<std::string>()) {
            throw bad("a digest's service that is neither a fwmark nor an address service");
        }
        key.family = address->family();
        key.address = *address;
        return key;
    };
    try {
        const auto doc = nlohmann::json::parse(text);
        if (doc.at("version") != 1) {
            throw bad("unknown version");
        }
        for (const auto& s : doc.at("services")) {
            state.services.push_back(service_key(s));
        }
        // Absent in records from before digests: the next run is then a full one.
        for (const auto& d : doc.value("digests", nlohmann::json::array())) {
            state.digests[digest_key(d)] = d.at("digest").get<std::string>();
        }
        state.last_full = doc.value("last_full", std::int64_t{0});
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
