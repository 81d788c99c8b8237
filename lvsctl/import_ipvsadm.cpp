// `ipvsadm -S` / `ipvsadm-save [-n]` output (and hand-written `ipvsadm -R` input) into the
// cluster model. ipvsadm's own rules, from its source (ipvsadm.c, 1.26 to 1.31):
//   - each line is one ipvsadm command line, optionally starting with the word "ipvsadm";
//   - -A without -s gets the scheduler wlc; -p without a value 300 seconds; -M defaults to
//     255.255.255.255 (IPv4) or 128 (IPv6);
//   - -a without -g/-i/-m forwards by direct routing (-g), without -w has weight 1; a real
//     server without a port gets the service's port, and -g/-i force it to the service's port;
//   - -6 makes a fwmark service IPv6 and must follow -f;
//   - short options may be clustered ("-At VIP:PORT"), long ones take "=VALUE" or the next word.
// `ipvsadm -R` itself does not skip comments (its reader looks for '#' in the separator after a
// word, never in the word), ipvsadm-restore drops lines starting with '#'; lines starting with
// '#' are skipped here.
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/import.h"
#include "lvsctl/import_services.h"
#include "lvsctl/lvscf.h"

namespace lvsctl {

namespace {

// ipvsadm's MAX_TIMEOUT: the longest persistence it takes, in seconds.
constexpr std::int64_t kMaxTimeout = 86400LL * 31;

enum class Command { none, add_service, add_server, clear };

struct Option {
    char short_name;
    std::string_view long_name;
    bool takes_value;
};

constexpr std::array<Option, 21> kOptions{{
    {'A', "add-service", false}, {'a', "add-server", false},   {'C', "clear", false},
    {'t', "tcp-service", true},  {'u', "udp-service", true},   {'f', "fwmark-service", true},
    {'6', "ipv6", false},        {'s', "scheduler", true},     {'p', "persistent", false},
    {'M', "netmask", true},      {'r', "real-server", true},   {'g', "gatewaying", false},
    {'i', "ipip", false},        {'m', "masquerading", false}, {'w', "weight", true},
    {'x', "u-threshold", true},  {'y', "l-threshold", true},   {'o', "ops", false},
    {'b', "sched-flags", true},  {'n', "numeric", false},      {'\0', "pe", true},
}};

// Commands ipvsadm knows that change or list the table in other ways: not part of a saved table.
constexpr std::array<std::string_view, 16> kOtherCommands{"E",
                                                          "e",
                                                          "D",
                                                          "d",
                                                          "R",
                                                          "S",
                                                          "L",
                                                          "l",
                                                          "Z",
                                                          "h",
                                                          "v",
                                                          "edit-service",
                                                          "edit-server",
                                                          "delete-service",
                                                          "delete-server",
                                                          "set"};

struct Line {
    Command command = Command::none;
    std::optional<char> kind;  // 't', 'u', 'f'
    std::string service;       // as written
    bool ipv6 = false;
    std::optional<std::string> scheduler;
    bool persistent = false;
    std::optional<std::string> persistence;
    std::optional<std::string> netmask;
    std::optional<std::string> server;
    std::optional<Forwarding> forwarding;
    std::optional<std::string> weight;
    std::vector<std::string> used;  // the options given, for "does not go with" messages
};

class Reader {
  public:
    Reader(std::string_view text, std::string_view source, const ImportHints& hints)
        : text_(text), source_(source), hints_(hints) {}

    Imported run() {
        std::size_t pos = 0;
        while (pos < text_.size()) {
            auto end = text_.find('\n', pos);
            if (end == std::string_view::npos) {
                end = text_.size();
            }
            ++line_;
            read_line(text_.substr(pos, end - pos));
            pos = end + 1;
        }
        Imported out;
        out.warnings = std::move(warnings_);
        out.cluster = fold_services(services_, {}, source_, hints_, out.warnings);
        return out;
    }

  private:
    [[noreturn]] void fail(const std::string& why) const {
        throw Error(ExitCode::data, fmt::format("{} line {}: {}", source_, line_, why));
    }
    void warn(const std::string& what) {
        warnings_.push_back(fmt::format("line {}: {}", line_, what));
    }

    static std::vector<std::string_view> words(std::string_view line) {
        std::vector<std::string_view> out;
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
                ++i;
            }
            auto j = i;
            while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') {
                ++j;
            }
            if (j > i) {
                out.push_back(line.substr(i, j - i));
            }
            i = j;
        }
        return out;
    }

    void read_line(std::string_view text) {
        auto w = words(text);
        if (w.empty() || w.front().starts_with('#')) {
            return;
        }
        for (char ch : text) {
            const auto u = static_cast<unsigned char>(ch);
            if ((u < 0x20 && ch != '\t' && ch != '\r') || u == 0x7f) {
                fail(fmt::format("control character 0x{:02x}", u));
            }
        }
        std::size_t at = 0;
        if (w.front() == "ipvsadm") {
            ++at;
        }
        Line l;
        while (at < w.size()) {
            const auto word = w[at++];
            if (word == "ops") {  // ipvsadm 1.26 prints " ops" for -o
                option(l, *find_short('o'), std::nullopt);
            } else if (word == "pe") {  // and " pe NAME" for --pe NAME
                if (at >= w.size()) {
                    fail("pe needs a persistence engine name");
                }
                option(l, kOptions.back(), std::string(w[at++]));
            } else if (word.starts_with("--") && word.size() > 2) {
                long_option(l, word.substr(2), w, at);
            } else if (word.starts_with('-') && word.size() > 1) {
                short_options(l, word.substr(1), w, at);
            } else {
                fail(fmt::format("unexpected word {}", quoted(word)));
            }
        }
        apply(l);
    }

    static const Option* find_short(char c) {
        for (const auto& o : kOptions) {
            if (o.short_name == c) {
                return &o;
            }
        }
        return nullptr;
    }

    void other_command(std::string_view name) const {
        for (auto other : kOtherCommands) {
            if (other == name) {
                fail(
                    fmt::format("-{}{}: only the -A and -a lines of a saved table can be "
                                "imported",
                                name.size() > 1 ? "-" : "", name));
            }
        }
        if (name == "start-daemon" || name == "stop-daemon") {
            fail(
                fmt::format("--{}: the sync daemon follows lvsctl's HA (docs/ha.md), not a "
                            "saved table",
                            name));
        }
    }

    void long_option(Line& l, std::string_view spec, const std::vector<std::string_view>& w,
                     std::size_t& at) {
        const auto eq = spec.find('=');
        const auto name = spec.substr(0, eq);
        other_command(name);
        for (const auto& o : kOptions) {
            if (o.long_name != name) {
                continue;
            }
            std::optional<std::string> value;
            if (eq != std::string_view::npos) {
                value = std::string(spec.substr(eq + 1));
            } else if (o.takes_value || o.short_name == 'p') {
                value = next_value(o, w, at);
            }
            option(l, o, value);
            return;
        }
        fail(fmt::format("unknown option --{}: it may change what the service does", name));
    }

    void short_options(Line& l, std::string_view flags, const std::vector<std::string_view>& w,
                       std::size_t& at) {
        for (std::size_t i = 0; i < flags.size(); ++i) {
            other_command(flags.substr(i, 1));
            const auto* o = find_short(flags[i]);
            if (o == nullptr) {
                fail(fmt::format("unknown option -{}: it may change what the service does",
                                 flags[i]));
            }
            if (o->takes_value || o->short_name == 'p') {
                std::optional<std::string> value;
                if (i + 1 < flags.size()) {
                    value = std::string(flags.substr(i + 1));
                } else {
                    value = next_value(*o, w, at);
                }
                option(l, *o, value);
                return;
            }
            option(l, *o, std::nullopt);
        }
    }

    // The value of an option: the next word; -p's is optional (popt takes the next word unless
    // it starts with '-').
    std::optional<std::string> next_value(const Option& o, const std::vector<std::string_view>& w,
                                          std::size_t& at) const {
        if (at < w.size() && (o.takes_value || !w[at].starts_with('-'))) {
            return std::string(w[at++]);
        }
        if (o.takes_value) {
            fail(fmt::format("--{} needs a value", o.long_name));
        }
        return std::nullopt;
    }

    void option(Line& l, const Option& o, const std::optional<std::string>& value) {
        const auto name = o.short_name != '\0' ? fmt::format("-{}", o.short_name)
                                               : fmt::format("--{}", o.long_name);
        l.used.push_back(name);
        auto command = [&](Command c) {
            if (l.command != Command::none) {
                fail(fmt::format("{}: a line holds one command", name));
            }
            l.command = c;
        };
        switch (o.short_name) {
            case 'A':
                command(Command::add_service);
                break;
            case 'a':
                command(Command::add_server);
                break;
            case 'C':
                command(Command::clear);
                break;
            case 't':
            case 'u':
            case 'f':
                if (l.kind) {
                    fail(fmt::format("{}: a line names one service", name));
                }
                l.kind = o.short_name;
                l.service = *value;
                break;
            case '6':
                if (l.kind != 'f') {
                    fail("-6 must follow -f (it makes a fwmark service IPv6)");
                }
                l.ipv6 = true;
                break;
            case 's':
                l.scheduler = *value;
                break;
            case 'p':
                l.persistent = true;
                l.persistence = value;
                break;
            case 'M':
                l.netmask = *value;
                break;
            case 'r':
                l.server = *value;
                break;
            case 'g':
                l.forwarding = Forwarding::route;
                break;
            case 'i':
                l.forwarding = Forwarding::tunnel;
                break;
            case 'm':
                l.forwarding = Forwarding::masq;
                break;
            case 'w':
                l.weight = *value;
                break;
            case 'x':
            case 'y':
                if (*value != "0") {
                    fail(
                        fmt::format("{} {}: a connection threshold limits what a real server "
                                    "gets; lvsctl cannot hold it",
                                    name, *value));
                }
                warn(fmt::format("{} 0: no connection threshold, nothing to keep", name));
                break;
            case 'o':
                fail(
                    fmt::format("{}: one-packet scheduling (ops) cannot be held: lvsctl "
                                "schedules connections",
                                name));
            case 'b':
                fail(
                    fmt::format("{} {}: scheduler flags change which real server a connection "
                                "gets; lvsctl cannot hold them",
                                name, *value));
            case 'n':
                break;  // numeric output: nothing to import
            default:    // --pe
                fail(
                    fmt::format("--pe {}: a persistence engine cannot be held: lvsctl's "
                                "persistence is by client address",
                                *value));
        }
    }

    std::int64_t number(std::string_view what, std::string_view text, std::int64_t lo,
                        std::int64_t hi) const {
        std::int64_t n = 0;
        const auto* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (text.empty() || ec != std::errc() || ptr != end || n < lo || n > hi) {
            fail(fmt::format("{} {}: not a whole number in {}..{}", what, quoted(text), lo, hi));
        }
        return n;
    }

    std::int64_t port(std::string_view text) const {
        if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
            return number("port", text, 0, 65535);
        }
        // Port names as ipvsadm prints them without -n.
        if (auto known = well_known_port(text)) {
            return *known;
        }
        fail(fmt::format("port {} is not a number or a known service name (http, https, ...)",
                         quoted(text)));
    }

    IpAddress host(std::string_view text) const {
        if (auto ip = IpAddress::parse(text)) {
            return *ip;
        }
        if (text.empty() || text.find_first_of("[]:") != std::string_view::npos) {
            fail(fmt::format("{} is not an address", quoted(text)));
        }
        if (hints_.resolve) {
            if (auto ip = hints_.resolve(text)) {
                return *ip;
            }
        }
        fail(fmt::format("host name {} does not resolve", quoted(text)));
    }

    // ADDR, ADDR:PORT, [V6], [V6]:PORT, or a bare IPv6 address (ipvsadm tries the whole word
    // as an IPv6 address first).
    std::pair<IpAddress, std::optional<std::int64_t>> address_port(std::string_view text) const {
        if (text.starts_with('[')) {
            const auto close = text.find(']');
            if (close == std::string_view::npos) {
                fail(fmt::format("{}: '[' without ']'", quoted(text)));
            }
            const auto rest = text.substr(close + 1);
            auto ip = IpAddress::parse(text.substr(1, close - 1));
            if (!ip || ip->is_v4()) {
                fail(fmt::format("{} is not an IPv6 address", quoted(text.substr(1, close - 1))));
            }
            if (rest.empty()) {
                return {*ip, std::nullopt};
            }
            if (rest[0] != ':') {
                fail(fmt::format("{}: expected ':' after ']'", quoted(text)));
            }
            return {*ip, port(rest.substr(1))};
        }
        if (auto ip = IpAddress::parse(text); ip && !ip->is_v4()) {
            return {*ip, std::nullopt};
        }
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return {host(text), std::nullopt};
        }
        return {host(text.substr(0, colon)), port(text.substr(colon + 1))};
    }

    // Which options go with which command, as ipvsadm's commands_v_options table has it.
    void allowed(const Line& l, std::string_view command, std::string_view options) const {
        for (const auto& used : l.used) {
            if (used == command || used == "-n" || used == "-6") {
                continue;
            }
            const auto key = std::string_view(used).substr(used.size() == 2 ? 1 : 0);
            if (options.find(key) == std::string_view::npos || key.size() != 1) {
                fail(fmt::format("{} does not go with {}", used, command));
            }
        }
    }

    std::string service_name(const Line& l) const {
        return fmt::format("service -{} {}{}", *l.kind, l.service, l.ipv6 ? " -6" : "");
    }

    using Key = std::tuple<char, Family, std::int64_t, IpAddress, std::int64_t>;

    Key key_of(const Line& l, ImportedService& s) const {
        s.description = service_name(l);
        if (*l.kind == 'f') {
            s.fwmark = number("fwmark", l.service, 1, 0xffffffffLL);
            s.family = l.ipv6 ? Family::inet6 : Family::inet;
            return {'f', s.family, *s.fwmark, IpAddress(), 0};
        }
        auto [vip, vport] = address_port(l.service);
        if (!vport || *vport == 0) {
            fail(
                fmt::format("{}: a service without a port (port 0, every port) cannot be held: "
                            "lvsctl balances the cluster's ports",
                            s.description));
        }
        s.vip = vip;
        s.port = *vport;
        s.family = vip.family();
        s.protocol = *l.kind == 't' ? "tcp" : "udp";
        return {*l.kind, s.family, 0, vip, s.port};
    }

    // The address part of a real server as written (what --server hints name).
    static std::string name_of(std::string_view text, bool has_port) {
        if (text.starts_with('[')) {
            return std::string(text.substr(1, text.find(']') - 1));
        }
        if (IpAddress::parse(text) || !has_port) {
            return std::string(text);
        }
        return std::string(text.substr(0, text.rfind(':')));
    }

    void apply(const Line& l) {
        switch (l.command) {
            case Command::none:
                fail("no command: expected -A (a service) or -a (a real server)");
            case Command::clear:
                allowed(l, "-C", "");
                warn("-C (clear the table): lvsctl converges the whole table anyway");
                return;
            case Command::add_service:
                allowed(l, "-A", "tufspM");
                add_service(l);
                return;
            case Command::add_server:
                allowed(l, "-a", "tufrgimwxy");
                add_server(l);
                return;
        }
    }

    void add_service(const Line& l) {
        if (!l.kind) {
            fail("-A without -t, -u or -f");
        }
        ImportedService s;
        s.line = line_;
        const auto key = key_of(l, s);
        if (auto it = index_.find(key); it != index_.end()) {
            fail(fmt::format("{} is added twice (first on line {})", s.description,
                             services_[it->second].line));
        }
        s.scheduler = l.scheduler.value_or("wlc");
        if (l.persistent) {
            s.persistence =
                l.persistence ? number("-p", *l.persistence, 1, kMaxTimeout) : 300;  // ipvsadm's
        }
        if (l.netmask) {
            const bool v4 = s.family == Family::inet;
            if (*l.netmask != (v4 ? "255.255.255.255" : "128")) {
                fail(
                    fmt::format("{}: -M {}: persistence by client network cannot be held: "
                                "lvsctl's persistence is by client address",
                                s.description, *l.netmask));
            }
        }
        index_.emplace(key, services_.size());
        services_.push_back(std::move(s));
    }

    void add_server(const Line& l) {
        if (!l.kind) {
            fail("-a without -t, -u or -f");
        }
        if (!l.server) {
            fail("-a without -r (the real server)");
        }
        ImportedService probe;
        const auto key = key_of(l, probe);
        auto it = index_.find(key);
        if (it == index_.end()) {
            fail(fmt::format("{}: -a before the service's -A line", probe.description));
        }
        auto& s = services_[it->second];
        ImportedRealServer r;
        r.line = line_;
        auto [address, rport] = address_port(*l.server);
        r.name = name_of(*l.server, rport.has_value());
        r.address = address;
        r.port = rport;
        r.forwarding = l.forwarding.value_or(Forwarding::route);
        r.weight = l.weight ? number("-w", *l.weight, 0, 65535) : 1;
        if (address.family() != s.family) {
            fail(fmt::format("{}: real server {} is not of the service's address family",
                             s.description, r.name));
        }
        for (const auto& other : s.servers) {
            if (!s.fwmark && other.address == address) {
                fail(fmt::format("{}: real server {} is added twice (first on line {})",
                                 s.description, r.name, other.line));
            }
        }
        s.servers.push_back(std::move(r));
    }

    std::string_view text_;
    std::string_view source_;
    const ImportHints& hints_;
    std::size_t line_ = 0;
    std::vector<ImportedService> services_;
    std::map<Key, std::size_t> index_;
    std::vector<std::string> warnings_;
};

}  // namespace

Imported parse_ipvsadm_save(std::string_view text, std::string_view source,
                            const ImportHints& hints) {
    return Reader(text, source, hints).run();
}

}  // namespace lvsctl
