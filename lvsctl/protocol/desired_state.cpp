#include "lvsctl/protocol/desired_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
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

namespace {

// A JSON string: names and check strings may hold anything; addresses and the words the types
// print never need escaping.
std::string quoted(const std::string& s) {
    return nlohmann::json(s).dump();
}

template <typename... T>
void put(std::string& out, fmt::format_string<T...> format, T&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
}

}  // namespace

// Written piece by piece, one line per website IP, destination and checked server: the document
// of a large cluster (100,000 destinations) is never held as a tree of json values, and the
// agent's record of it never as one string (bench/README.md, "agent_ipvs").
void write_json(const LbDesiredState& state, const std::function<void(std::string_view)>& sink) {
    constexpr std::size_t kPiece = 64 * 1024;
    std::string out;
    out.reserve(kPiece + 1024);
    const auto flush = [&](std::size_t at_least) {
        if (out.size() >= at_least) {
            sink(out);
            out.clear();
        }
    };
    put(out, "{{\n  \"version\": {},\n", state.version);
    put(out, "  \"cluster\": {{\"id\": {}, \"name\": {}, \"serial\": {}}},\n", state.cluster_id,
        quoted(state.cluster_name), state.serial);
    put(out, "  \"interface\": {},\n  \"website_ips\": [", quoted(state.interface));
    for (std::size_t i = 0; i < state.website_ips.size(); ++i) {
        put(out, "{}\n    \"{}\"", i == 0 ? "" : ",", state.website_ips[i].str());
        flush(kPiece);
    }
    out += state.website_ips.empty() ? "],\n" : "\n  ],\n";
    put(out, "  \"marks\": {{\"fwmark\": {}, \"protocol\": {}, \"ports\": [{}]}},\n", state.fwmark,
        quoted(state.protocol), fmt::join(state.ports, ", "));
    out += "  \"services\": [";
    for (std::size_t i = 0; i < state.services.size(); ++i) {
        const auto& svc = state.services[i];
        put(out,
            "{}\n    {{\"family\": \"{}\", \"fwmark\": {}, \"scheduler\": {}, "
            "\"persistence\": {}, \"destinations\": [",
            i == 0 ? "" : ",", to_string(svc.family), svc.fwmark, quoted(svc.scheduler),
            svc.persistence);
        for (std::size_t k = 0; k < svc.destinations.size(); ++k) {
            const auto& d = svc.destinations[k];
            put(out,
                "{}\n      {{\"address\": \"{}\", \"port\": {}, \"forwarding\": \"{}\", "
                "\"weight\": {}}}",
                k == 0 ? "" : ",", d.address.str(), d.port, to_string(d.forwarding), d.weight);
            flush(kPiece);
        }
        out += svc.destinations.empty() ? "]}" : "\n    ]}";
    }
    out += state.services.empty() ? "],\n" : "\n  ],\n";
    put(out, "  \"drain_timeout\": {}", state.drain_timeout);
    if (state.vrrp) {
        out += ",\n  \"ha\": \"vrrp\"";
    }
    if (state.checks) {
        const auto& c = *state.checks;
        put(out,
            ",\n  \"checks\": {{\n    \"interval\": {}, \"timeout\": {}, \"reentry\": {}, "
            "\"port\": {},\n    \"send\": {},\n    \"expect\": {},\n    \"use_regex\": {}, "
            "\"quiesce\": {}, \"load_scale\": {},\n",
            c.interval, c.timeout, c.reentry, c.port, quoted(c.send), quoted(c.expect), c.use_regex,
            c.quiesce, c.load_scale);
        if (!c.program.empty()) {
            put(out, "    \"program\": {},\n", quoted(c.program));
        }
        if (!c.load_monitor.empty()) {
            put(out, "    \"load_monitor\": {},\n", quoted(c.load_monitor));
        }
        out += "    \"servers\": [";
        for (std::size_t i = 0; i < c.servers.size(); ++i) {
            put(out, "{}\n      {{\"address\": \"{}\", \"mgmt_address\": \"{}\"}}",
                i == 0 ? "" : ",", c.servers[i].address.str(), c.servers[i].mgmt_address.str());
            flush(kPiece);
        }
        out += c.servers.empty() ? "]\n  }" : "\n    ]\n  }";
    }
    out += "\n}\n";
    flush(1);
}

std::string to_json(const LbDesiredState& state) {
    // Room for the longest lines (untouched room costs no memory): one copy, no regrowth.
    std::size_t dests = 0;
    for (const auto& svc : state.services) {
        dests += svc.destinations.size();
    }
    std::string out;
    out.reserve(4096 + 48 * state.website_ips.size() + 128 * dests +
                (state.checks ? 112 * state.checks->servers.size() : 0));
    write_json(state, [&](std::string_view piece) { out.append(piece); });
    return out;
}

}  // namespace lvsctl

namespace lvsctl {

namespace {

using nlohmann::json;

// A place in the document, for messages ("services[1].destinations[0].weight"). It becomes text
// only when something is refused: a document has hundreds of thousands of places.
class Where {
  public:
    explicit Where(const char* key) : key_(key) {}  // a top-level key, or "" for the document
    Where(const Where& parent, const char* key) : parent_(&parent), key_(key) {}
    Where(const Where& parent, std::size_t index)
        : parent_(&parent), index_(index), indexed_(true) {}
    std::string str() const {
        auto prefix = parent_ != nullptr ? parent_->str() : std::string();
        if (indexed_) {
            return fmt::format("{}[{}]", prefix, index_);
        }
        return prefix.empty() ? std::string(key_) : prefix + "." + key_;
    }

  private:
    const Where* parent_ = nullptr;
    const char* key_ = "";
    std::size_t index_ = 0;
    bool indexed_ = false;
};

const Where kDocument("");

[[noreturn]] void refuse(const std::string& where, const std::string& why) {
    if (where.empty()) {
        throw Error(ExitCode::data, fmt::format("desired state: {}", why));
    }
    throw Error(ExitCode::data, fmt::format("desired state: {}: {}", where, why));
}

[[noreturn]] void refuse(const Where& where, const std::string& why) {
    refuse(where.str(), why);
}

// An object whose keys are exactly `allowed` (all required unless listed in `optional`).
void expect_keys(const json& j, const Where& where, std::initializer_list<const char*> required,
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
            refuse(Where(where, key.c_str()), "unknown key");
        }
    }
    for (const char* key : required) {
        if (!j.contains(key)) {
            refuse(Where(where, key), "missing");
        }
    }
}

std::int64_t integer(const json& j, const Where& where, std::int64_t lo, std::int64_t hi) {
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

const std::string& text(const json& j, const Where& where) {
    if (!j.is_string()) {
        refuse(where, "expected a string");
    }
    return j.get_ref<const std::string&>();
}

const json& array(const json& j, const Where& where) {
    if (!j.is_array()) {
        refuse(where, "expected a list");
    }
    return j;
}

bool boolean(const json& j, const Where& where) {
    if (!j.is_boolean()) {
        refuse(where, "expected true or false");
    }
    return j.get<bool>();
}

IpAddress address(const json& j, const Where& where) {
    const auto& t = text(j, where);
    const auto ip = IpAddress::parse(t);
    if (!ip) {
        refuse(where, fmt::format("{:?} is not an IP address", t));
    }
    return *ip;
}

Family family(const json& j, const Where& where) {
    const auto& t = text(j, where);
    if (const auto f = parse_family(t)) {
        return *f;
    }
    refuse(where, fmt::format("{:?} is not inet or inet6", t));
}

std::string command_path(const json& j, const Where& where) {
    const auto& path = text(j, where);
    if (!is_valid_command_path(path)) {
        refuse(where, fmt::format("{:?} is not an absolute program path of letters, digits and "
                                  "_ . / + -",
                                  path));
    }
    return path;
}

// The index of the first element whose address an earlier element has, or npos. Documents
// list addresses sorted (desired_state() sorts them): then one pass and no memory.
template <typename T, typename Address>
std::size_t first_repeat(const std::vector<T>& items, Address address) {
    bool sorted = true;
    for (std::size_t k = 1; k < items.size() && sorted; ++k) {
        sorted = address(items[k - 1]) < address(items[k]);
    }
    if (sorted) {
        return std::string::npos;
    }
    std::vector<std::pair<IpAddress, std::size_t>> order;
    order.reserve(items.size());
    for (std::size_t k = 0; k < items.size(); ++k) {
        order.emplace_back(address(items[k]), k);
    }
    std::sort(order.begin(), order.end());
    auto first = std::string::npos;
    for (std::size_t k = 1; k < order.size(); ++k) {
        // A group's second index is its earliest repeat.
        if (order[k].first == order[k - 1].first &&
            (k < 2 || order[k - 1].first != order[k - 2].first)) {
            first = std::min(first, order[k].second);
        }
    }
    return first;
}

// An element of one of the long lists, read as soon as it is complete (see Reader).
Destination parse_destination(const json& d, const Where& where) {
    expect_keys(d, where, {"address", "port", "forwarding", "weight"});
    Destination dest;
    dest.address = address(d["address"], Where(where, "address"));
    dest.port = static_cast<std::uint16_t>(integer(d["port"], Where(where, "port"), 0, 65535));
    const Where at_forwarding(where, "forwarding");
    const auto& fwd = text(d["forwarding"], at_forwarding);
    const auto parsed = parse_forwarding(fwd);
    if (!parsed) {
        refuse(at_forwarding, fmt::format("{:?} is not route, masq or tunnel", fwd));
    }
    dest.forwarding = *parsed;
    dest.weight =
        static_cast<std::uint32_t>(integer(d["weight"], Where(where, "weight"), 0, 65535));
    return dest;
}

IpAddress parse_website_ip(const json& j, const Where& where) {
    const auto ip = address(j, where);
    if (!ip.is_global_unicast()) {
        refuse(where, fmt::format("{} is not a unicast address a website can use", ip.str()));
    }
    return ip;
}

CheckedServer parse_checked_server(const json& j, const Where& where) {
    expect_keys(j, where, {"address", "mgmt_address"});
    return {address(j["address"], Where(where, "address")),
            address(j["mgmt_address"], Where(where, "mgmt_address"))};
}

// Reads the document as events (nlohmann's SAX interface) into a json tree, except for the long
// lists (website_ips, every service's destinations, checks.servers): each of their elements is
// parsed as soon as it is complete and dropped from the tree. A document of 100,000 destinations
// is then held once, as parsed values, and never as a tree of json values nor as one string
// (the agent reads it from its input as it comes; bench/README.md, "agent_document").
class Reader {
  public:
    using string_t = json::string_t;

    bool null() { return value(json(nullptr)); }
    bool boolean(bool b) { return value(json(b)); }
    bool number_integer(json::number_integer_t n) { return value(json(n)); }
    bool number_unsigned(json::number_unsigned_t n) { return value(json(n)); }
    bool number_float(json::number_float_t x, const string_t&) { return value(json(x)); }
    bool string(string_t& s) { return value(json(std::move(s))); }
    bool binary(json::binary_t&) { return value(json(nullptr)); }  // never in JSON text
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(string_t& k) {
        if (stack_.back().node->contains(k)) {
            const auto where = path();
            refuse(where.empty() ? k : where + "." + k, "given twice");
        }
        key_ = std::move(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        throw Error(ExitCode::data, fmt::format("desired state: not JSON: {}", e.what()));
    }

    json document;  // without the long lists' elements
    std::vector<IpAddress> website_ips;
    std::vector<std::vector<Destination>> destinations;  // by the service's index
    std::vector<CheckedServer> servers;

  private:
    enum class List { none, website_ips, destinations, servers };
    struct Frame {
        json* node = nullptr;
        std::string key;        // its key in its parent object
        std::size_t index = 0;  // its index in its parent list
        bool in_list = false;   // its parent is a list
        List list = List::none;
        std::size_t done = 0;  // a long list's elements read so far
    };

    // The path of the innermost open value, e.g. "services[0].destinations".
    std::string path() const {
        std::string out;
        for (std::size_t i = 1; i < stack_.size(); ++i) {
            const auto& f = stack_[i];
            out += f.in_list ? fmt::format("[{}]", f.index) : (out.empty() ? f.key : "." + f.key);
        }
        return out;
    }

    // What a new list under key_ in the innermost object is.
    List list_kind() const {
        if (stack_.size() == 1 && key_ == "website_ips") {
            return List::website_ips;
        }
        if (stack_.size() == 2 && !stack_[1].in_list && stack_[1].key == "checks" &&
            key_ == "servers") {
            return List::servers;
        }
        if (stack_.size() == 3 && stack_[1].key == "services" && stack_[1].node->is_array() &&
            !stack_[1].in_list && stack_[2].in_list && key_ == "destinations") {
            return List::destinations;
        }
        return List::none;
    }

    json* insert(json&& v, Frame& frame) {
        json& parent = *stack_.back().node;
        if (parent.is_object()) {
            frame.key = key_;
            auto& slot = parent[key_];
            slot = std::move(v);
            return &slot;
        }
        frame.in_list = true;
        frame.index = stack_.back().list != List::none ? stack_.back().done : parent.size();
        parent.push_back(std::move(v));
        return &parent.back();
    }

    bool value(json&& v) {
        if (stack_.empty()) {
            document = std::move(v);
            return true;
        }
        Frame ignored;
        insert(std::move(v), ignored);
        if (stack_.back().list != List::none) {
            take(stack_.back());
        }
        return true;
    }

    bool open(json&& v) {
        if (stack_.empty()) {
            document = std::move(v);
            Frame root;
            root.node = &document;
            stack_.push_back(std::move(root));
            return true;
        }
        const bool is_array = v.is_array();
        Frame frame;
        frame.list = is_array && stack_.back().node->is_object() ? list_kind() : List::none;
        frame.node = insert(std::move(v), frame);
        stack_.push_back(std::move(frame));
        return true;
    }

    bool close() {
        stack_.pop_back();
        if (!stack_.empty() && stack_.back().list != List::none) {
            take(stack_.back());
        }
        return true;
    }

    // A long list's element is complete: parse it, and drop it from the tree.
    void take(Frame& list) {
        const json& element = list.node->back();
        const auto k = list.done++;
        switch (list.list) {
            case List::website_ips: {
                const Where ips(kDocument, "website_ips");
                website_ips.push_back(parse_website_ip(element, Where(ips, k)));
                break;
            }
            case List::destinations: {
                const auto service = stack_[2].index;
                const Where services(kDocument, "services");
                const Where svc(services, service);
                const Where dests(svc, "destinations");
                if (destinations.size() <= service) {
                    destinations.resize(service + 1);
                }
                destinations[service].push_back(parse_destination(element, Where(dests, k)));
                break;
            }
            case List::servers: {
                const Where checks(kDocument, "checks");
                const Where list_where(checks, "servers");
                servers.push_back(parse_checked_server(element, Where(list_where, k)));
                break;
            }
            case List::none:
                break;
        }
        list.node->clear();
    }

    std::vector<Frame> stack_;
    string_t key_;
};

// One part of the document each, in the document's order; `s` gets what they read.
void parse_cluster(const json& cluster, LbDesiredState& s) {
    const Where where(kDocument, "cluster");
    expect_keys(cluster, where, {"id", "name", "serial"});
    s.cluster_id = integer(cluster["id"], Where(where, "id"), 1, 0x7fffffff);
    s.cluster_name = text(cluster["name"], Where(where, "name"));
    if (!is_valid_cluster_name(s.cluster_name)) {
        refuse(Where(where, "name"),
               fmt::format("{:?} is not a valid cluster name", s.cluster_name));
    }
    s.serial = integer(cluster["serial"], Where(where, "serial"), 0, 0x7fffffff);
}

void parse_interface(const json& j, LbDesiredState& s) {
    const Where where(kDocument, "interface");
    s.interface = text(j, where);
    if (!is_valid_interface_name(s.interface)) {
        refuse(where, fmt::format("{:?} is not an interface name", s.interface));
    }
}

void parse_website_ips(const json& j, std::vector<IpAddress>&& ips, LbDesiredState& s) {
    const Where where(kDocument, "website_ips");
    array(j, where);
    if (const auto k = first_repeat(ips, [](const IpAddress& ip) { return ip; });
        k != std::string::npos) {
        refuse(Where(where, k), fmt::format("{} is listed twice", ips[k].str()));
    }
    s.website_ips = std::move(ips);
}

void parse_marks(const json& marks, LbDesiredState& s) {
    const Where where(kDocument, "marks");
    expect_keys(marks, where, {"fwmark", "protocol", "ports"});
    s.fwmark = static_cast<std::uint32_t>(
        integer(marks["fwmark"], Where(where, "fwmark"), 1, 0xffffffffLL));
    s.protocol = text(marks["protocol"], Where(where, "protocol"));
    if (s.protocol != "tcp" && s.protocol != "udp" && s.protocol != "sctp") {
        refuse(Where(where, "protocol"), fmt::format("{:?} is not tcp, udp or sctp", s.protocol));
    }
    const Where at_ports(where, "ports");
    const auto& ports = array(marks["ports"], at_ports);
    if (ports.empty()) {
        refuse(at_ports, "no port");
    }
    for (std::size_t i = 0; i < ports.size(); ++i) {
        const Where at(at_ports, i);
        const auto port = static_cast<std::uint16_t>(integer(ports[i], at, 1, 65535));
        if (std::find(s.ports.begin(), s.ports.end(), port) != s.ports.end()) {
            refuse(at, fmt::format("port {} is listed twice", port));
        }
        s.ports.push_back(port);
    }
}

// A service marks with the document's mark: the agent marks packets with marks.fwmark and owns
// the services by it, so a service of another mark would never see a packet. Its destinations
// were read as they came (Reader); here they are checked against the service.
Service parse_service(const json& j, const Where& where, std::uint32_t fwmark,
                      std::vector<Destination>&& destinations,
                      std::set<std::pair<Family, std::uint32_t>>& seen_services) {
    expect_keys(j, where, {"family", "fwmark", "scheduler", "persistence", "destinations"});
    Service svc;
    svc.family = family(j["family"], Where(where, "family"));
    svc.fwmark =
        static_cast<std::uint32_t>(integer(j["fwmark"], Where(where, "fwmark"), 1, 0xffffffffLL));
    if (!seen_services.emplace(svc.family, svc.fwmark).second) {
        refuse(where, "a second service with this family and fwmark");
    }
    if (svc.fwmark != fwmark) {
        refuse(Where(where, "fwmark"),
               fmt::format("{} is not marks.fwmark ({})", svc.fwmark, fwmark));
    }
    svc.scheduler = text(j["scheduler"], Where(where, "scheduler"));
    if (!is_known_scheduler(svc.scheduler)) {
        refuse(Where(where, "scheduler"),
               fmt::format("unknown IPVS scheduler {:?}", svc.scheduler));
    }
    svc.persistence = static_cast<std::uint32_t>(
        integer(j["persistence"], Where(where, "persistence"), 0, 0x7fffffff));
    const Where at_dests(where, "destinations");
    array(j["destinations"], at_dests);
    for (std::size_t k = 0; k < destinations.size(); ++k) {
        if (destinations[k].address.family() != svc.family) {
            refuse(Where(Where(at_dests, k), "address"),
                   fmt::format("{} is not an {} address", destinations[k].address.str(),
                               ip_version(svc.family)));
        }
    }
    if (const auto k = first_repeat(destinations, [](const Destination& d) { return d.address; });
        k != std::string::npos) {
        refuse(Where(Where(at_dests, k), "address"),
               fmt::format("{} is listed twice", destinations[k].address.str()));
    }
    svc.destinations = std::move(destinations);
    return svc;
}

// Where a checked server's address is among the services' destinations: one service per family
// (marks.fwmark), its destinations usually sorted, so a binary search and a bit per destination
// (an index sorted by address only for a service whose destinations are not).
class DestinationIndex {
  public:
    enum class Found { no, once, again };

    explicit DestinationIndex(const std::vector<Service>& services) : services_(services) {
        for (const auto& svc : services) {
            const auto& d = svc.destinations;
            std::vector<std::size_t> order;
            if (!std::is_sorted(d.begin(), d.end(), [](const auto& a, const auto& b) {
                    return a.address < b.address;
                })) {
                order.resize(d.size());
                for (std::size_t k = 0; k < d.size(); ++k) {
                    order[k] = k;
                }
                std::sort(order.begin(), order.end(),
                          [&](auto a, auto b) { return d[a].address < d[b].address; });
            }
            order_.push_back(std::move(order));
            seen_.emplace_back(d.size(), false);
        }
    }

    // Marks `addr` as checked.
    Found check(const IpAddress& addr) {
        for (std::size_t i = 0; i < services_.size(); ++i) {
            const auto k = find(i, addr);
            if (k != std::string::npos) {
                const bool before = seen_[i][k];
                seen_[i][k] = true;
                return before ? Found::again : Found::once;
            }
        }
        return Found::no;
    }

    // The lowest destination address not checked, if any.
    std::optional<IpAddress> unchecked() const {
        std::optional<IpAddress> first;
        for (std::size_t i = 0; i < services_.size(); ++i) {
            const auto& d = services_[i].destinations;
            for (std::size_t n = 0; n < d.size(); ++n) {
                const auto k = order_[i].empty() ? n : order_[i][n];
                if (!seen_[i][k]) {
                    if (!first || d[k].address < *first) {
                        first = d[k].address;
                    }
                    break;
                }
            }
        }
        return first;
    }

  private:
    std::size_t find(std::size_t i, const IpAddress& addr) const {
        const auto& d = services_[i].destinations;
        if (order_[i].empty()) {
            const auto it = std::lower_bound(
                d.begin(), d.end(), addr,
                [](const Destination& x, const IpAddress& a) { return x.address < a; });
            return it != d.end() && it->address == addr ? static_cast<std::size_t>(it - d.begin())
                                                        : std::string::npos;
        }
        const auto& order = order_[i];
        const auto it =
            std::lower_bound(order.begin(), order.end(), addr,
                             [&](std::size_t k, const IpAddress& a) { return d[k].address < a; });
        return it != order.end() && d[*it].address == addr ? *it : std::string::npos;
    }

    const std::vector<Service>& services_;
    std::vector<std::vector<std::size_t>> order_;  // empty: the destinations are sorted
    std::vector<std::vector<bool>> seen_;
};

// After the services: every checked server is one of their destinations, and each destination
// is checked. The servers were read as they came (Reader).
void parse_checks(const json& j, std::vector<CheckedServer>&& servers, LbDesiredState& s) {
    const Where where(kDocument, "checks");
    expect_keys(j, where,
                {"interval", "timeout", "reentry", "port", "send", "expect", "use_regex", "quiesce",
                 "load_scale", "servers"},
                {"program", "load_monitor"});
    MonitorChecks c;
    c.interval =
        static_cast<std::uint32_t>(integer(j["interval"], Where(where, "interval"), 1, 86400));
    c.timeout =
        static_cast<std::uint32_t>(integer(j["timeout"], Where(where, "timeout"), 1, 86400));
    c.reentry =
        static_cast<std::uint32_t>(integer(j["reentry"], Where(where, "reentry"), 0, 86400));
    c.port = static_cast<std::uint16_t>(integer(j["port"], Where(where, "port"), 1, 65535));
    c.send = text(j["send"], Where(where, "send"));
    c.expect = text(j["expect"], Where(where, "expect"));
    c.use_regex = boolean(j["use_regex"], Where(where, "use_regex"));
    if (c.use_regex) {
        if (auto why = regex_problem(c.expect); !why.empty()) {
            refuse(Where(where, "expect"), why);
        }
    }
    c.quiesce = boolean(j["quiesce"], Where(where, "quiesce"));
    c.load_scale =
        static_cast<std::uint32_t>(integer(j["load_scale"], Where(where, "load_scale"), 1, 1000));
    if (j.contains("program")) {
        c.program = text(j["program"], Where(where, "program"));
        if (!is_valid_command_line(c.program)) {
            refuse(Where(where, "program"),
                   fmt::format("{:?} is not a program path and arguments without a shell's "
                               "characters",
                               c.program));
        }
    }
    if (j.contains("load_monitor")) {
        c.load_monitor = command_path(j["load_monitor"], Where(where, "load_monitor"));
    }
    const Where at_servers(where, "servers");
    array(j["servers"], at_servers);
    DestinationIndex destinations(s.services);
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const auto& addr = servers[i].address;
        switch (destinations.check(addr)) {
            case DestinationIndex::Found::no:
                refuse(Where(Where(at_servers, i), "address"),
                       fmt::format("{} is not a destination", addr.str()));
            case DestinationIndex::Found::again:
                refuse(Where(Where(at_servers, i), "address"),
                       fmt::format("{} is listed twice", addr.str()));
            case DestinationIndex::Found::once:
                break;
        }
    }
    if (const auto missing = destinations.unchecked()) {
        refuse(at_servers, fmt::format("destination {} is not listed", missing->str()));
    }
    c.servers = std::move(servers);
    s.checks = std::move(c);
}

void parse_services(const json& j, std::vector<std::vector<Destination>>&& destinations,
                    LbDesiredState& s) {
    const Where where(kDocument, "services");
    const auto& services = array(j, where);
    std::set<std::pair<Family, std::uint32_t>> seen;
    destinations.resize(std::max(destinations.size(), services.size()));
    for (std::size_t i = 0; i < services.size(); ++i) {
        s.services.push_back(parse_service(services[i], Where(where, i), s.fwmark,
                                           std::move(destinations[i]), seen));
    }
}

LbDesiredState parse(Reader& reader) {
    const json& doc = reader.document;
    LbDesiredState s;
    expect_keys(doc, kDocument,
                {"version", "cluster", "interface", "website_ips", "marks", "services"},
                {"drain_timeout", "checks", "ha"});
    s.version = static_cast<int>(integer(doc["version"], Where(kDocument, "version"), 1, 1));
    parse_cluster(doc["cluster"], s);
    parse_interface(doc["interface"], s);
    parse_website_ips(doc["website_ips"], std::move(reader.website_ips), s);
    parse_marks(doc["marks"], s);
    parse_services(doc["services"], std::move(reader.destinations), s);
    if (doc.contains("drain_timeout")) {
        s.drain_timeout = static_cast<std::uint32_t>(
            integer(doc["drain_timeout"], Where(kDocument, "drain_timeout"), 0, 86400));
    }
    if (doc.contains("checks")) {
        parse_checks(doc["checks"], std::move(reader.servers), s);
    }
    if (doc.contains("ha")) {
        const Where where(kDocument, "ha");
        const auto& ha = text(doc["ha"], where);
        if (ha != "vrrp" && ha != "external") {
            refuse(where, fmt::format("{:?} is not vrrp or external", ha));
        }
        s.vrrp = ha == "vrrp";
    }
    return s;
}

}  // namespace

namespace {

template <typename Read>
LbDesiredState read_document(Read&& read) {
    Reader reader;
    try {
        read(reader);
    } catch (const json::exception& e) {
        throw Error(ExitCode::data, fmt::format("desired state: not JSON: {}", e.what()));
    }
    return parse(reader);
}

}  // namespace

LbDesiredState parse_desired_state(std::string_view input) {
    return read_document([&](Reader& r) { json::sax_parse(input.begin(), input.end(), &r); });
}

LbDesiredState parse_desired_state(std::istream& input) {
    return read_document([&](Reader& r) { json::sax_parse(input, &r); });
}

}  // namespace lvsctl
