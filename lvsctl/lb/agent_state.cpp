#include "lvsctl/lb/agent_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

#include "lvsctl/error.h"
#include "lvsctl/protocol/codec.h"

namespace lvsctl {

std::string to_json(const AgentState& state) {
    nlohmann::ordered_json services = nlohmann::ordered_json::array();
    for (const auto& key : state.services) {
        services.push_back(codec::service_key(key));
    }
    nlohmann::ordered_json vips = nlohmann::ordered_json::array();
    for (const auto& ip : state.vips) {
        vips.push_back(ip.str());
    }
    nlohmann::ordered_json former = nlohmann::ordered_json::object();
    for (const auto& [interface, ips] : state.former) {
        auto list = nlohmann::ordered_json::array();
        for (const auto& ip : ips) {
            list.push_back(ip.str());
        }
        former[interface] = std::move(list);
    }
    nlohmann::ordered_json digests = nlohmann::ordered_json::array();
    for (const auto& [key, digest] : state.digests) {
        // The agent's own are fwmark services; the library (and its benchmark) also reconciles
        // address:port ones.
        auto entry = codec::service_key(key);
        entry["digest"] = digest;
        digests.push_back(std::move(entry));
    }
    const nlohmann::ordered_json doc = {{"version", 1},
                                        {"services", std::move(services)},
                                        {"interface", state.interface},
                                        {"vips", std::move(vips)},
                                        {"former", std::move(former)},
                                        {"marks", state.marks},
                                        {"marks_via", state.marks_via},
                                        {"digests", std::move(digests)},
                                        {"last_full", state.last_full},
                                        {"marks_digest", state.marks_digest}};
    return codec::text(doc);
}

AgentState parse_agent_state(std::string_view text, std::string_view source) {
    auto bad = [&](const std::string& why) {
        return Error(ExitCode::data, fmt::format("{}: {}", source, why));
    };
    AgentState state;
    auto key = [&](const nlohmann::json& j, bool fwmark_only) {
        try {
            auto k = codec::parse_service_key(j);
            if (fwmark_only && k.fwmark == 0) {
                throw std::invalid_argument("not a (family, fwmark) pair");
            }
            return k;
        } catch (const std::invalid_argument& e) {
            throw bad(fmt::format("a service: {}", e.what()));
        }
    };
    try {
        const auto doc = nlohmann::json::parse(text);
        if (doc.at("version") != 1) {
            throw bad("unknown version");
        }
        for (const auto& s : doc.at("services")) {
            state.services.push_back(key(s, true));
        }
        // Absent in records from before digests: the next run is then a full one.
        for (const auto& d : doc.value("digests", nlohmann::json::array())) {
            state.digests[key(d, false)] = d.at("digest").get<std::string>();
        }
        state.last_full = codec::integer_or<std::int64_t>(doc, "last_full", std::int64_t{0});
        state.interface = doc.value("interface", "");
        state.marks_via = doc.value("marks_via", "");
        // Absent in records from before it: the next run reads the firewall.
        state.marks_digest = doc.value("marks_digest", "");
        auto address = [&](const nlohmann::json& v) {
            const auto ip = IpAddress::parse(v.get<std::string>());
            if (!ip) {
                throw bad("a VIP that is not an address");
            }
            return *ip;
        };
        for (const auto& v : doc.value("vips", nlohmann::json::array())) {
            state.vips.push_back(address(v));
        }
        // Absent in records from before interface moves were recorded.
        // (Held in a local: a range-for over a temporary's items() would dangle.)
        const auto former = doc.value("former", nlohmann::json::object());
        for (const auto& [interface, ips] : former.items()) {
            auto& list = state.former[interface];
            for (const auto& v : ips) {
                list.push_back(address(v));
            }
        }
        for (const auto& m : doc.value("marks", nlohmann::json::array())) {
            state.marks.push_back(codec::integer<std::uint32_t>(m, "marks"));
        }
    } catch (const nlohmann::json::exception& e) {
        throw bad(e.what());
    } catch (const std::invalid_argument& e) {
        throw bad(e.what());
    }
    return state;
}

std::string agent_record_name(std::int64_t cluster_id) {
    return fmt::format("agent-cluster-{}.json", cluster_id);
}

std::optional<std::int64_t> agent_record_cluster(std::string_view name) {
    return record_cluster(name, "agent-cluster-");
}

std::optional<std::int64_t> record_cluster(std::string_view name, std::string_view prefix) {
    constexpr std::string_view suffix = ".json";
    if (!name.starts_with(prefix) || !name.ends_with(suffix) ||
        name.size() <= prefix.size() + suffix.size()) {
        return std::nullopt;
    }
    const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.front() == '0' && digits.size() > 1) {
        return std::nullopt;  // not a name agent_record_name() writes
    }
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size() || id < 0) {
        return std::nullopt;
    }
    return id;
}

bool legacy_record_fits(const AgentState& legacy, std::uint32_t fwmark) {
    return std::all_of(legacy.marks.begin(), legacy.marks.end(),
                       [&](std::uint32_t m) { return m == fwmark; });
}

std::vector<std::string> conflicts(const Claim& claim, const std::vector<OtherRecord>& others) {
    std::vector<std::string> out;
    const std::set<IpAddress> wanted_ips(claim.website_ips.begin(), claim.website_ips.end());
    for (const auto& other : others) {
        const auto& st = other.state;
        auto owned_by = [&](const std::string& what) {
            out.push_back(fmt::format("cluster {} wants {}, which {} owns (record {})",
                                      claim.cluster_id, what, other.owner, other.file));
        };
        const bool mark_in_services =
            std::any_of(st.services.begin(), st.services.end(),
                        [&](const ServiceKey& k) { return k.fwmark == claim.fwmark; });
        if (std::find(st.marks.begin(), st.marks.end(), claim.fwmark) != st.marks.end() ||
            mark_in_services) {
            owned_by(fmt::format("firewall mark {}", claim.fwmark));
        }
        for (const auto& key : claim.services) {
            if (std::find(st.services.begin(), st.services.end(), key) != st.services.end()) {
                owned_by(fmt::format("service {}", key.str()));
            }
        }
        auto placed = [&](const std::string& interface, const std::vector<IpAddress>& ips) {
            for (const auto& ip : ips) {
                if (wanted_ips.contains(ip)) {
                    owned_by(fmt::format("website IP {} on {} (placed on {})", ip.str(),
                                         claim.interface, interface));
                }
            }
        };
        placed(st.interface, st.vips);
        for (const auto& [interface, ips] : st.former) {
            placed(interface, ips);
        }
    }
    return out;
}

}  // namespace lvsctl
