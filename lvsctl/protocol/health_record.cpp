#include "lvsctl/protocol/health_record.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "lvsctl/error.h"
#include "lvsctl/protocol/codec.h"

namespace lvsctl {

std::string_view to_string(Health health) {
    switch (health) {
        case Health::unchecked:
            return "unchecked";
        case Health::up:
            return "up";
        case Health::down:
            return "down";
        case Health::reentering:
            return "re-entering";
    }
    return "unknown";
}

std::string health_record_name(std::int64_t cluster_id) {
    return fmt::format("health-cluster-{}.json", cluster_id);
}

namespace {

Health health_of(const std::string& text) {
    for (auto h : {Health::unchecked, Health::up, Health::down, Health::reentering}) {
        if (to_string(h) == text) {
            return h;
        }
    }
    throw std::invalid_argument(fmt::format("unknown state {:?}", text));
}

}  // namespace

nlohmann::ordered_json codec::health(const HealthRecord& record) {
    nlohmann::ordered_json servers = nlohmann::ordered_json::array();
    for (const auto& [address, s] : record.servers) {
        servers.push_back({{"address", address.str()},
                           {"state", std::string(to_string(s.state))},
                           {"in_service", s.in_service},
                           {"configured", s.configured},
                           {"weight", s.weight},
                           {"last_check", s.last_check},
                           {"last_ok", s.last_ok},
                           {"why", s.why},
                           {"latency_ms", s.latency_ms},
                           {"transitions", s.transitions}});
    }
    return {{"version", 1},
            {"cluster_id", record.cluster_id},
            {"updated", record.updated},
            {"interval", record.interval},
            {"timeout", record.timeout},
            {"servers", std::move(servers)}};
}

HealthRecord codec::parse_health(const nlohmann::json& doc) {
    HealthRecord record;
    if (doc.at("version").get<int>() != 1) {
        throw std::invalid_argument("version is not 1");
    }
    record.cluster_id = codec::integer<std::int64_t>(doc.at("cluster_id"), "cluster_id");
    record.updated = codec::integer<std::int64_t>(doc.at("updated"), "updated");
    record.interval = codec::integer<std::uint32_t>(doc.at("interval"), "interval");
    record.timeout = codec::integer<std::uint32_t>(doc.at("timeout"), "timeout");
    for (const auto& s : doc.at("servers")) {
        const auto address = IpAddress::parse(s.at("address").get<std::string>());
        if (!address) {
            throw std::invalid_argument("a server's address is not an IP address");
        }
        ServerHealthRecord r;
        r.state = health_of(s.at("state").get<std::string>());
        r.in_service = s.at("in_service").get<bool>();
        r.configured = codec::integer<std::uint32_t>(s.at("configured"), "configured");
        r.weight = codec::integer<std::uint32_t>(s.at("weight"), "weight");
        r.last_check = codec::integer<std::int64_t>(s.at("last_check"), "last_check");
        r.last_ok = s.at("last_ok").get<bool>();
        r.why = s.at("why").get<std::string>();
        r.latency_ms = codec::integer<std::uint32_t>(s.at("latency_ms"), "latency_ms");
        r.transitions = codec::integer<std::uint64_t>(s.at("transitions"), "transitions");
        record.servers[*address] = std::move(r);
    }
    return record;
}

std::string to_json(const HealthRecord& record) {
    return codec::text(codec::health(record));
}

HealthRecord parse_health_record(std::string_view text, std::string_view source) {
    try {
        return codec::parse_health(nlohmann::json::parse(text));
    } catch (const std::exception& e) {  // nlohmann's errors and ours
        throw Error(ExitCode::data, fmt::format("{}: not a health record: {}", source, e.what()));
    }
}

bool is_current(const HealthRecord& record, std::int64_t now) {
    const std::int64_t round = std::int64_t{record.interval} + record.timeout;
    return now >= record.updated - 60 && now - record.updated <= 3 * round + 60;
}

}  // namespace lvsctl
