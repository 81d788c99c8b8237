// The JSON pieces every document between the management node and the LB shares, written and read
// one way: service keys, counters, and the text a document is dumped as. Internal to the modules
// that read or write those documents (protocol/, and the agent's record in lb/).
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/protocol/health_record.h"

namespace lvsctl::codec {

// {"family", "fwmark"} for a firewall-mark service, else {"family", "protocol", "address",
// "port"}.
nlohmann::ordered_json service_key(const ServiceKey& key);
// The same back; throws std::invalid_argument naming what is wrong (an unknown family, an
// address of the other family, a mark of 0, a protocol outside 1..255).
ServiceKey parse_service_key(const nlohmann::json& j);

nlohmann::ordered_json stats(const IpvsStats& s);
IpvsStats parse_stats(const nlohmann::json& j);  // missing counters are 0

// A kernel's IPVS services with destinations and counters, as `agent show` and `status --json`
// list them: the key, "scheduler", "persistence", "stats", "destinations".
nlohmann::ordered_json services(const std::vector<ServiceInfo>& list);

// The monitor's health record (health_record.h) as an object, on its own and inside `agent
// show`; parse_health throws what nlohmann throws, or std::invalid_argument.
nlohmann::ordered_json health(const HealthRecord& record);
HealthRecord parse_health(const nlohmann::json& j);

// The integer `j` holds, in T's range. Anything else (a float, a number out of range, not a
// number) throws std::invalid_argument naming `what`: nlohmann's get<T>() would convert a float
// out of T's range, which is undefined behaviour (found by fuzz_host_output).
template <class T>
T integer(const nlohmann::json& j, std::string_view what) {
    if (j.is_number_unsigned()) {
        const auto v = j.get<std::uint64_t>();
        if (std::in_range<T>(v)) {
            return static_cast<T>(v);
        }
    } else if (j.is_number_integer()) {
        const auto v = j.get<std::int64_t>();
        if (std::in_range<T>(v)) {
            return static_cast<T>(v);
        }
    }
    throw std::invalid_argument(std::string(what) + ": not an integer in range: " + j.dump());
}
// The same for key `key` of object `j`, `fallback` when it has none.
template <class T>
T integer_or(const nlohmann::json& j, const char* key, T fallback) {
    const auto it = j.find(key);
    return it == j.end() ? fallback : integer<T>(*it, key);
}

// A forwarding method by its JSON name ("route", "masq", ...); throws std::invalid_argument.
IpvsForward parse_forward(std::string_view name);

// A document as text that every reader takes, whatever bytes hosts printed into its strings:
// bytes that are not UTF-8 become U+FFFD, and so does NUL, which JSON allows as \u0000 but
// PostgreSQL's jsonb (the run log) refuses. Indented by 2, ending with a newline.
std::string text(const nlohmann::ordered_json& doc);

}  // namespace lvsctl::codec
