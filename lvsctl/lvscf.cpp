#include "lvsctl/lvscf.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "lvsctl/error.h"

namespace lvsctl {

namespace {

struct Token {
    std::string text;
    bool quoted = false;
};

// Keys piranha accepts but lvsctl does not model; they are reported, not rejected.
const std::set<std::string_view> kIgnoredGlobal = {"primary_private",
                                                   "backup_private",
                                                   "heartbeat",
                                                   "heartbeat_port",
                                                   "keepalive",
                                                   "deadtime",
                                                   "nat_router",
                                                   "nat_nmask",
                                                   "debug_level",
                                                   "monitor_links",
                                                   "syncdaemon",
                                                   "syncd_iface",
                                                   "syncd_id",
                                                   "tcp_timeout",
                                                   "tcpfin_timeout",
                                                   "udp_timeout",
                                                   "hard_shutdown",
                                                   "rsh_command",
                                                   "reservation_conflict_action"};
const std::set<std::string_view> kIgnoredVirtual = {"vip_nmask", "sorry_server", "pmask"};
const std::set<std::string_view> kIgnoredServer = {"port"};

struct RawServer {
    std::string name;
    std::size_t line = 0;
    std::optional<IpAddress> address;
    std::optional<std::int64_t> weight;
    std::optional<bool> active;
};

struct RawVirtual {
    std::string name;
    std::size_t line = 0;
    std::map<std::string, std::pair<std::size_t, std::string>> values;  // key -> (line, value)
    std::vector<IpAddress> addresses;                                   // `address = VIP [dev]`
    std::vector<RawServer> servers;
};

class Parser {
  public:
    Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {}

    LvsCf run() {
        std::size_t line_no = 0;
        std::size_t pos = 0;
        while (pos <= text_.size()) {
            const auto end = std::min(text_.find('\n', pos), text_.size());
            ++line_no;
            line_ = line_no;
            parse_line(text_.substr(pos, end - pos));
            pos = end + 1;
        }
        if (in_server_) {
            fail_at(virtuals_.back().servers.back().line,
                    fmt::format("server {} is not closed by a lone '}}'",
                                virtuals_.back().servers.back().name));
        }
        if (in_virtual_) {
            fail_at(virtuals_.back().line,
                    fmt::format("virtual {} is not closed by a lone '}}'", virtuals_.back().name));
        }
        build();
        return std::move(result_);
    }

  private:
    [[noreturn]] void fail_at(std::size_t line, const std::string& why) const {
        throw Error(ExitCode::data, fmt::format("{} line {}: {}", source_, line, why));
    }
    [[noreturn]] void fail(const std::string& why) const { fail_at(line_, why); }

    std::vector<Token> tokenize(std::string_view line) const {
        std::vector<Token> tokens;
        std::size_t i = 0;
        while (i < line.size()) {
            const char c = line[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i;
            } else if (c == '"') {
                const auto close = line.find('"', i + 1);
                if (close == std::string_view::npos) {
                    fail("a quoted string is not closed on its line");
                }
                tokens.push_back({std::string(line.substr(i + 1, close - i - 1)), true});
                i = close + 1;
                if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                    fail("a quoted string must be followed by a space or the end of the line");
                }
            } else {
                auto j = i;
                while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') {
                    if (line[j] == '"') {
                        fail("a quote in the middle of a word");
                    }
                    ++j;
                }
                tokens.push_back({std::string(line.substr(i, j - i)), false});
                i = j;
            }
        }
        for (const auto& t : tokens) {
            for (char ch : t.text) {
                const auto u = static_cast<unsigned char>(ch);
                if (u < 0x20 && ch != '\t') {
                    fail(fmt::format("control character 0x{:02x}", u));
                }
            }
        }
        return tokens;
    }

    void parse_line(std::string_view line) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') {
            return;
        }
        const auto tokens = tokenize(line);
        const auto& head = tokens[0];
        if (!head.quoted && head.text == "}") {
            if (tokens.size() != 1) {
                fail("'}' must stand alone on its line");
            }
            close_block();
            return;
        }
        if (!head.quoted && (head.text == "virtual" || head.text == "server") &&
            (tokens.size() < 2 || tokens[1].text != "=")) {
            open_block(tokens);
            return;
        }
        if (tokens.size() < 3 || tokens[1].quoted || tokens[1].text != "=") {
            fail("expected 'key = value' with '=' standing alone");
        }
        if (head.quoted) {
            fail("a key cannot be quoted");
        }
        std::vector<Token> value(tokens.begin() + 2, tokens.end());
        if (in_server_) {
            server_key(head.text, value);
        } else if (in_virtual_) {
            virtual_key(head.text, value);
        } else {
            global_key(head.text, value);
        }
    }

    void open_block(const std::vector<Token>& tokens) {
        const auto& kind = tokens[0].text;
        if (tokens.size() != 3 || tokens[1].quoted || tokens[2].quoted || tokens[2].text != "{") {
            fail(fmt::format("expected '{} NAME {{'", kind));
        }
        const auto& name = tokens[1].text;
        if (kind == "virtual") {
            if (in_virtual_) {
                fail("a virtual block cannot be inside another block");
            }
            for (const auto& v : virtuals_) {
                if (v.name == name) {
                    fail(fmt::format("virtual {} was already defined on line {}", name, v.line));
                }
            }
            virtuals_.push_back({name, line_, {}, {}, {}});
            in_virtual_ = true;
            return;
        }
        if (!in_virtual_ || in_server_) {
            fail("a server block must be directly inside a virtual block");
        }
        auto& servers = virtuals_.back().servers;
        for (const auto& s : servers) {
            if (s.name == name) {
                fail(fmt::format("server {} was already defined on line {}", name, s.line));
            }
        }
        servers.push_back({name, line_, {}, {}, {}});
        in_server_ = true;
    }

    void close_block() {
        if (in_server_) {
            in_server_ = false;
        } else if (in_virtual_) {
            in_virtual_ = false;
        } else {
            fail("'}' without an open block");
        }
    }

    const std::string& single(const std::string& key, const std::vector<Token>& value) const {
        if (value.size() != 1) {
            fail(fmt::format("{} takes one value", key));
        }
        return value[0].text;
    }

    std::int64_t integer(const std::string& key, const std::vector<Token>& value, std::int64_t lo,
                         std::int64_t hi) const {
        const auto& text = single(key, value);
        std::int64_t n = 0;
        const auto* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (ec != std::errc() || ptr != end || value[0].quoted) {
            fail(fmt::format("{} = {}: not a whole number", key, text));
        }
        if (n < lo || n > hi) {
            fail(fmt::format("{} = {}: not in {}..{}", key, text, lo, hi));
        }
        return n;
    }

    bool flag(const std::string& key, const std::vector<Token>& value) const {
        return integer(key, value, 0, 1) == 1;
    }

    IpAddress address(const std::string& key, const std::string& text) const {
        auto ip = IpAddress::parse(text);
        if (!ip) {
            fail(fmt::format("{} = {}: not an IP address", key, text));
        }
        return *ip;
    }

    void once(std::set<std::string>& seen, const std::string& key) const {
        if (!seen.insert(key).second) {
            fail(fmt::format("{} is given twice", key));
        }
    }

    void global_key(const std::string& key, const std::vector<Token>& value) {
        once(global_seen_, key);
        auto& c = result_.cluster;
        if (key == "serial_no") {
            c.serial = integer(key, value, 0, 0x7fffffff);
        } else if (key == "primary") {
            primary_ = address(key, single(key, value));
        } else if (key == "backup") {
            backup_ = address(key, single(key, value));
        } else if (key == "backup_active") {
            backup_active_ = flag(key, value);
        } else if (key == "network") {
            const auto& net = single(key, value);
            if (net == "direct") {
                c.forwarding = Forwarding::route;
            } else if (net == "nat") {
                c.forwarding = Forwarding::masq;
            } else if (net == "tunnel") {
                c.forwarding = Forwarding::tunnel;
            } else {
                fail(fmt::format("network = {}: expected direct, nat or tunnel", net));
            }
        } else if (key == "service") {
            if (single(key, value) != "lvs") {
                fail(fmt::format("service = {}: lvsctl drives LVS only", value[0].text));
            }
        } else if (kIgnoredGlobal.contains(key)) {
            ignore(key);
        } else {
            fail(fmt::format("unknown key '{}'", key));
        }
    }

    void virtual_key(const std::string& key, const std::vector<Token>& value) {
        auto& v = virtuals_.back();
        if (key == "address") {
            // `address = VIP [device[:alias]]`: the website IP of an address-based service.
            if (value.empty() || value.size() > 2) {
                fail("address takes an IP address and optionally a device");
            }
            v.addresses.push_back(address(key, value[0].text));
            return;
        }
        if (v.values.contains(key)) {
            fail(fmt::format("{} is given twice in virtual {}", key, v.name));
        }
        static const std::set<std::string_view> modelled = {
            "fwmark",    "port",         "protocol",      "scheduler", "persistent",
            "send",      "expect",       "timeout",       "reentry",   "load_monitor",
            "use_regex", "send_program", "quiesce_server"};
        if (key == "active") {
            // lvsctl keeps every service it owns active; an inactive one becomes active.
            if (!flag(key, value)) {
                ignore(key);
            }
            v.values[key] = {line_, {}};
        } else if (modelled.contains(key)) {
            if (key == "send" || key == "expect") {
                v.values[key] = {line_, unescape(key, single(key, value))};
            } else {
                v.values[key] = {line_, single(key, value)};
            }
            // Numbers are checked here, where the line is known.
            if (key == "fwmark") {
                integer(key, value, 1, 0xffffffffLL);
            } else if (key == "port") {
                integer(key, value, 1, 65535);
            } else if (key == "persistent") {
                integer(key, value, 0, 0x7fffffff);
            } else if (key == "timeout" || key == "reentry") {
                integer(key, value, 0, 86400);
            } else if (key == "use_regex" || key == "quiesce_server") {
                flag(key, value);
            }
        } else if (kIgnoredVirtual.contains(key)) {
            v.values[key] = {line_, {}};
            ignore(key);
        } else {
            fail(fmt::format("unknown key '{}' in virtual {}", key, v.name));
        }
    }

    void server_key(const std::string& key, const std::vector<Token>& value) {
        auto& s = virtuals_.back().servers.back();
        auto duplicate = [&](bool present) {
            if (present) {
                fail(fmt::format("{} is given twice in server {}", key, s.name));
            }
        };
        if (key == "address") {
            duplicate(s.address.has_value());
            s.address = address(key, single(key, value));
        } else if (key == "weight") {
            duplicate(s.weight.has_value());
            s.weight = integer(key, value, 0, 65535);
        } else if (key == "active") {
            duplicate(s.active.has_value());
            s.active = flag(key, value);
        } else if (kIgnoredServer.contains(key)) {
            ignore(key);
        } else {
            fail(fmt::format("unknown key '{}' in server {}", key, s.name));
        }
    }

    std::string unescape(const std::string& key, const std::string& raw) const {
        std::string out;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] != '\\') {
                out += raw[i];
                continue;
            }
            const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
            switch (next) {
                case 'r':
                    out += '\r';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                default:
                    fail(fmt::format("{}: only \\r, \\n and \\t may follow a backslash", key));
            }
            ++i;
        }
        return out;
    }

    void ignore(const std::string& key) {
        result_.ignored.push_back(fmt::format("line {}: {}", line_, key));
    }

    // From the blocks to the one-mark-per-cluster model: the -v4 and -v6 virtuals are two
    // families of the same service, so whatever they both say must agree.
    void build() {
        auto& c = result_.cluster;
        c.check_send.reset();
        c.check_expect.reset();
        c.scheduler = "wlc";  // piranha's default when a virtual names none
        // A piranha pair is pulse's to arbitrate: the file says nothing of VRRP (docs/ha.md).
        c.ha = Ha::external;
        if (primary_) {
            c.load_balancers.push_back({Role::primary, *primary_, 22, "eth1"});
        }
        if (backup_ && backup_active_.value_or(true)) {
            c.load_balancers.push_back({Role::backup, *backup_, 22, "eth1"});
        }
        std::optional<std::string> base_name;
        std::set<Family> families;
        std::map<std::string, std::pair<std::size_t, std::string>> agreed;  // key -> (line, value)
        std::map<std::string, std::size_t> server_index;                    // name -> servers[i]
        std::int64_t next_node_id = 1;
        for (const auto& v : virtuals_) {
            const auto family = family_of(v);
            if (!families.insert(family).second) {
                fail_at(v.line, fmt::format("a second {} virtual; lvsctl keeps one service per "
                                            "address family",
                                            family == Family::inet ? "IPv4" : "IPv6"));
            }
            auto name = v.name;
            if (name.ends_with("-v4") || name.ends_with("-v6")) {
                name.resize(name.size() - 3);
            }
            if (base_name && *base_name != name) {
                fail_at(v.line, fmt::format("virtual {} and a virtual named {} belong to different "
                                            "clusters",
                                            v.name, *base_name));
            }
            base_name = name;
            for (const auto& [key, at] : v.values) {
                if (at.second.empty()) {
                    continue;
                }
                auto [it, fresh] = agreed.emplace(key, at);
                if (!fresh && it->second.second != at.second) {
                    fail_at(at.first, fmt::format("{} differs from line {}; both families of a "
                                                  "cluster share it",
                                                  key, it->second.first));
                }
            }
            for (const auto& ip : v.addresses) {
                if (std::find(c.website_ips.begin(), c.website_ips.end(), ip) ==
                    c.website_ips.end()) {
                    c.website_ips.push_back(ip);
                }
            }
            for (const auto& raw : v.servers) {
                add_server(raw, family, server_index, next_node_id);
            }
        }
        if (base_name) {
            c.name = *base_name;
        }
        apply_agreed(agreed);
    }

    Family family_of(const RawVirtual& v) const {
        if (v.name.ends_with("-v6")) {
            return Family::inet6;
        }
        if (v.name.ends_with("-v4")) {
            return Family::inet;
        }
        for (const auto& s : v.servers) {
            if (s.address) {
                return s.address->family();
            }
        }
        return v.addresses.empty() ? Family::inet : v.addresses.front().family();
    }

    void add_server(const RawServer& raw, Family family, std::map<std::string, std::size_t>& index,
                    std::int64_t& next_node_id) {
        auto& c = result_.cluster;
        if (!raw.address) {
            fail_at(raw.line, fmt::format("server {} has no address", raw.name));
        }
        if (raw.address->family() != family) {
            fail_at(raw.line, fmt::format("server {}: address {} is not of the virtual's family",
                                          raw.name, raw.address->str()));
        }
        const auto mgmt = IpAddress::parse(raw.name);
        if (!mgmt) {
            fail_at(raw.line, fmt::format("server name {} is not an IP address (lvsctl names "
                                          "servers by their management address)",
                                          raw.name));
        }
        const auto weight = raw.weight.value_or(1);  // piranha's default weight
        const auto active = raw.active.value_or(true);
        auto it = index.find(raw.name);
        if (it == index.end()) {
            if (family == Family::inet6) {
                fail_at(raw.line, fmt::format("server {} has an IPv6 address but no IPv4 one; "
                                              "list it in the IPv4 virtual too",
                                              raw.name));
            }
            index.emplace(raw.name, c.servers.size());
            c.servers.push_back(
                {next_node_id++, *mgmt, *raw.address, std::nullopt, 22, weight, active});
            return;
        }
        auto& s = c.servers[it->second];
        if (family == Family::inet || s.address_v6) {
            fail_at(raw.line, fmt::format("server {} is listed twice for one family", raw.name));
        }
        if (s.weight != weight || s.active != active) {
            fail_at(raw.line, fmt::format("server {}: weight and active must be the same in the "
                                          "IPv4 and IPv6 virtuals",
                                          raw.name));
        }
        s.address_v6 = *raw.address;
    }

    void apply_agreed(const std::map<std::string, std::pair<std::size_t, std::string>>& agreed) {
        auto& c = result_.cluster;
        auto number = [&](const char* key) -> std::optional<std::int64_t> {
            auto it = agreed.find(key);
            if (it == agreed.end()) {
                return std::nullopt;
            }
            std::int64_t n = 0;
            std::from_chars(it->second.second.data(),
                            it->second.second.data() + it->second.second.size(), n);
            return n;
        };
        auto text = [&](const char* key) -> std::optional<std::string> {
            auto it = agreed.find(key);
            return it == agreed.end() ? std::nullopt : std::optional(it->second.second);
        };
        if (auto v = number("fwmark")) {
            c.fwmark = *v;
        }
        if (auto v = number("port")) {
            c.ports = {*v};
        }
        if (auto v = text("protocol")) {
            c.protocol = *v;
        }
        if (auto v = text("scheduler")) {
            c.scheduler = *v;
        }
        if (auto v = number("persistent")) {
            c.persistence = *v;
        }
        if (auto v = number("timeout")) {
            // nanny's -t: how often it checks, and how long a check may take.
            c.check_interval = *v;
            c.check_timeout = *v;
        }
        if (auto v = number("reentry")) {
            c.check_reentry = *v;
        }
        c.check_send = text("send");
        c.check_expect = text("expect");
        c.load_monitor = text("load_monitor");
        c.check_program = text("send_program");
        c.check_use_regex = number("use_regex").value_or(0) == 1;
        c.quiesce_server = number("quiesce_server").value_or(0) == 1;
    }

    std::string_view text_;
    std::string_view source_;
    std::size_t line_ = 0;
    bool in_virtual_ = false;
    bool in_server_ = false;
    std::set<std::string> global_seen_;
    std::optional<IpAddress> primary_;
    std::optional<IpAddress> backup_;
    std::optional<bool> backup_active_;
    std::vector<RawVirtual> virtuals_;
    LvsCf result_;
};

}  // namespace

LvsCf parse_lvs_cf(std::string_view text, std::string_view source) {
    return Parser(text, source).run();
}

std::string escape_check_string(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '\r':
                out += "\\r";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace lvsctl
