#include "lvsctl/lvscf.h"

#include <arpa/inet.h>  // inet_aton: piranha reads netmasks and sorry_server with it
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <map>

#include "lvsctl/error.h"

namespace lvsctl {

namespace {

struct Token {
    std::string text;
    char quote = 0;  // '"' or '\'' when the word was quoted
    std::string written() const { return quote == 0 ? text : quote + text + quote; }
};

// What a key takes, as piranha's parser checks it.
enum class Kind {
    word,     // one word or quoted string
    integer,  // strtol(…, 0): decimal, 0x hex or 0 octal
    boolean,  // an integer, 0 or 1
    port,     // an integer or a service name
    host,     // an address, or a host name that resolves
    inet,     // an IPv4 address as inet_aton reads it (netmasks)
    loose,    // one word piranha does not check (pmask: a bad one is ignored)
    choice,   // one of `choices`
    address,  // two words: a host and a device
    list,     // `[ word ... ]`
};

enum class Use {
    model,   // a column of the cluster holds it
    kept,    // kept in Cluster::lvscf / Server::lvscf_settings and rendered back
    either,  // a column when lvsctl can act on the value, else kept (load_monitor)
};

struct KeySpec {
    std::string_view key;
    Kind kind;
    Use use;
    std::vector<std::string_view> choices = {};
};

const std::vector<KeySpec>& global_keys() {
    static const std::vector<KeySpec> keys = {
        {"primary", Kind::host, Use::model},
        {"serial_no", Kind::integer, Use::model},
        {"primary_private", Kind::host, Use::kept},
        {"primary_shared", Kind::word, Use::kept},
        {"backup", Kind::host, Use::model},
        {"backup_active", Kind::boolean, Use::model},
        {"backup_private", Kind::host, Use::kept},
        {"backup_shared", Kind::word, Use::kept},
        {"reservation_conflict_action", Kind::choice, Use::kept, {"nothing", "preempt"}},
        {"nat_nmask", Kind::inet, Use::kept},
        {"nat_router", Kind::address, Use::kept},
        {"active_cmd", Kind::word, Use::kept},
        {"inactive_cmd", Kind::word, Use::kept},
        {"monitor_links", Kind::integer, Use::kept},
        {"debug_level", Kind::word, Use::kept},
        {"hard_shutdown", Kind::boolean, Use::kept},
        {"ipvsadm", Kind::word, Use::kept},
        {"keepalive", Kind::integer, Use::kept},
        {"deadtime", Kind::integer, Use::kept},
        {"rsh_command", Kind::word, Use::kept},
        {"syncdaemon", Kind::boolean, Use::kept},
        {"syncd_iface", Kind::word, Use::kept},
        {"syncd_id", Kind::integer, Use::kept},
        {"tcp_timeout", Kind::integer, Use::kept},
        {"tcpfin_timeout", Kind::integer, Use::kept},
        {"udp_timeout", Kind::integer, Use::kept},
        {"heartbeat", Kind::boolean, Use::kept},
        {"heartbeat_port", Kind::port, Use::kept},
        {"sync", Kind::boolean, Use::kept},
        {"network", Kind::choice, Use::model, {"direct", "nat", "tunnel"}},
        {"service", Kind::choice, Use::model, {"lvs", "fos"}},
    };
    return keys;
}

const std::vector<KeySpec>& virtual_keys() {
    static const std::vector<KeySpec> keys = {
        {"active", Kind::boolean, Use::model},
        {"address", Kind::address, Use::model},
        {"sorry_server", Kind::inet, Use::kept},
        {"vip_nmask", Kind::inet, Use::kept},
        {"fwmark", Kind::integer, Use::model},
        {"protocol", Kind::choice, Use::model, {"tcp", "udp"}},
        {"port", Kind::port, Use::model},
        {"scheduler",
         Kind::choice,
         Use::model,
         {"lc", "rr", "wlc", "wrr", "lblc", "lblcr", "dh", "sh"}},
        {"persistent", Kind::integer, Use::model},
        {"pmask", Kind::loose, Use::kept},
        {"client_monitor", Kind::word, Use::kept},
        {"send_program", Kind::word, Use::model},
        {"send", Kind::word, Use::model},
        {"expect", Kind::word, Use::model},
        {"use_regex", Kind::boolean, Use::model},
        {"timeout", Kind::integer, Use::model},
        {"reentry", Kind::integer, Use::model},
        {"load_monitor", Kind::word, Use::either},
        {"quiesce_server", Kind::boolean, Use::model},
        {"start_cmd", Kind::word, Use::kept},
        {"stop_cmd", Kind::word, Use::kept},
        {"master", Kind::host, Use::kept},
        {"dirs", Kind::list, Use::kept},
    };
    return keys;
}

const std::vector<KeySpec>& server_keys() {
    static const std::vector<KeySpec> keys = {
        {"address", Kind::host, Use::model},
        {"active", Kind::boolean, Use::model},
        {"weight", Kind::integer, Use::model},
        {"port", Kind::integer, Use::kept},
    };
    return keys;
}

const KeySpec* find_key(const std::vector<KeySpec>& keys, std::string_view key) {
    const auto it = std::find_if(keys.begin(), keys.end(),
                                 [&](const KeySpec& spec) { return spec.key == key; });
    return it == keys.end() ? nullptr : &*it;
}

// strtol(text, 0) consuming the whole word, as piranha's getNum (an empty word is 0).
std::optional<std::int64_t> c_integer(const std::string& text) {
    if (text.empty()) {
        return 0;
    }
    errno = 0;
    char* end = nullptr;
    const long long n = std::strtoll(text.c_str(), &end, 0);
    if (*end != '\0' || errno == ERANGE || text.front() == ' ') {
        return std::nullopt;
    }
    return n;
}

struct Entry {
    std::string key;
    std::size_t line = 0;
    std::vector<Token> value;  // the words after `=`
    const KeySpec* spec = nullptr;

    const std::string& first() const { return value.front().text; }
    std::string written() const {
        std::string out;
        for (const auto& t : value) {
            out += (out.empty() ? "" : " ") + t.written();
        }
        return out;
    }
};

struct RawServer {
    std::string name;
    std::size_t line = 0;
    std::vector<Entry> entries;
};

struct RawVirtual {
    std::string name;
    std::size_t line = 0;
    bool failover = false;
    std::vector<Entry> entries;
    std::vector<RawServer> servers;
};

const Entry* find_entry(const std::vector<Entry>& entries, std::string_view key) {
    const auto it =
        std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == key; });
    return it == entries.end() ? nullptr : &*it;
}

// A virtual's settings the cluster's columns hold, with piranha's defaults for what it leaves out
// (lvsInitVirtualServer): compared between the IPv4 and IPv6 virtuals of one cluster.
struct VirtualValues {
    std::optional<std::int64_t> fwmark;
    std::int64_t port = 80;
    std::string protocol = "tcp";
    std::string scheduler = "wlc";
    std::int64_t persistent = 0;
    std::int64_t timeout = 10;
    std::int64_t reentry = 180;
    std::optional<std::string> send;
    std::optional<std::string> expect;
    bool use_regex = false;
    std::optional<std::string> send_program;
    std::optional<std::string> load_monitor;
    bool quiesce_server = false;
    bool active = false;
    std::optional<std::string> device;
    std::vector<LvsCfSetting> kept;
};

class Parser {
  public:
    Parser(std::string_view text, std::string_view source, const ImportHints& hints)
        : text_(text), source_(source), hints_(hints) {}

    Imported run() {
        if (text_.empty()) {
            throw Error(ExitCode::data,
                        fmt::format("{}: empty configuration (piranha refuses it too)", source_));
        }
        std::size_t pos = 0;
        while (pos < text_.size()) {
            auto end = text_.find_first_of("\r\n", pos);
            if (end == std::string_view::npos) {
                end = text_.size();
            }
            ++line_;
            parse_line(text_.substr(pos, end - pos));
            pos = end + 1;
            if (end < text_.size() && text_[end] == '\r' && pos < text_.size() &&
                text_[pos] == '\n') {
                ++pos;  // \r\n is one line end
            }
        }
        if (server_ != nullptr) {
            warn_at(server_->line, fmt::format("server {} is not closed before the end of the "
                                               "file; piranha reads it as closed",
                                               server_->name));
        }
        if (virtual_ != nullptr) {
            warn_at(virtual_->line, fmt::format("{} {} is not closed before the end of the file; "
                                                "piranha reads it as closed",
                                                block_word(*virtual_), virtual_->name));
        }
        build();
        return std::move(result_);
    }

  private:
    [[noreturn]] void fail_at(std::size_t line, const std::string& why) const {
        throw Error(ExitCode::data, fmt::format("{} line {}: {}", source_, line, why));
    }
    [[noreturn]] void fail(const std::string& why) const { fail_at(line_, why); }
    void warn_at(std::size_t line, const std::string& what) {
        result_.warnings.push_back(fmt::format("line {}: {}", line, what));
    }

    static std::string block_word(const RawVirtual& v) {
        return v.failover ? "failover" : "virtual";
    }

    // piranha's tokenizer: words separated by blanks; a word that starts with a quote runs to the
    // same quote, blanks included, and must end there.
    std::vector<Token> tokenize(std::string_view line) const {
        std::vector<Token> tokens;
        std::size_t i = 0;
        auto blank = [](char c) { return c == ' ' || c == '\t'; };
        while (i < line.size()) {
            if (blank(line[i])) {
                ++i;
                continue;
            }
            Token token;
            if (line[i] == '"' || line[i] == '\'') {
                token.quote = line[i];
                const auto close = line.find(token.quote, i + 1);
                if (close == std::string_view::npos) {
                    fail(fmt::format("quotation mismatch: {} is not closed on its line",
                                     token.quote));
                }
                if (close + 1 < line.size() && !blank(line[close + 1])) {
                    fail(fmt::format("quotation mismatch: a blank must follow the closing {}",
                                     token.quote));
                }
                token.text = std::string(line.substr(i + 1, close - i - 1));
                i = close + 1;
            } else {
                auto j = i;
                while (j < line.size() && !blank(line[j])) {
                    ++j;
                }
                token.text = std::string(line.substr(i, j - i));
                i = j;
            }
            for (const char ch : token.text) {
                const auto u = static_cast<unsigned char>(ch);
                if ((u < 0x20 && ch != '\t') || u == 0x7f) {
                    fail(fmt::format("control character 0x{:02x}", u));
                }
            }
            tokens.push_back(std::move(token));
        }
        return tokens;
    }

    void parse_line(std::string_view line) {
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string_view::npos || line[first] == '#') {
            return;
        }
        const auto tokens = tokenize(line);
        const auto& head = tokens[0].text;
        if (head == "}" && (virtual_ != nullptr)) {
            if (tokens.size() != 1) {
                fail(extra_words("'}'", tokens, 1));
            }
            if (server_ != nullptr) {
                server_ = nullptr;
            } else {
                virtual_ = nullptr;
            }
            return;
        }
        if (server_ == nullptr && virtual_ == nullptr &&
            (head == "virtual" || head == "failover")) {
            virtuals_.push_back(
                {tokens.size() > 1 ? tokens[1].text : "", line_, head == "failover", {}, {}});
            open_block(tokens, head);
            virtual_ = &virtuals_.back();
            return;
        }
        if (server_ == nullptr && virtual_ != nullptr && head == "server") {
            open_block(tokens, head);
            for (const auto& s : virtual_->servers) {
                if (s.name == tokens[1].text) {
                    fail(
                        fmt::format("server {} is defined twice in {} {} (line {}); lvsctl keeps "
                                    "one server per name",
                                    s.name, block_word(*virtual_), virtual_->name, s.line));
                }
            }
            virtual_->servers.push_back({tokens[1].text, line_, {}});
            server_ = &virtual_->servers.back();
            return;
        }
        const auto& keys = server_ != nullptr    ? server_keys()
                           : virtual_ != nullptr ? virtual_keys()
                                                 : global_keys();
        const auto* spec = find_key(keys, head);
        const auto where = server_ != nullptr ? fmt::format(" in server {}", server_->name)
                           : virtual_ != nullptr
                               ? fmt::format(" in {} {}", block_word(*virtual_), virtual_->name)
                               : std::string();
        if (spec == nullptr) {
            fail(fmt::format("unknown key '{}'{}{}", head, where,
                             head.find('=') != std::string::npos
                                 ? " ('=' must stand between blanks: key = value)"
                                 : ""));
        }
        if (tokens.size() < 2 || tokens[1].text != "=") {
            fail(fmt::format("{}: '=' expected after the key, standing between blanks", head));
        }
        Entry entry{head, line_, {tokens.begin() + 2, tokens.end()}, spec};
        check_value(entry);
        auto& entries = server_ != nullptr    ? server_->entries
                        : virtual_ != nullptr ? virtual_->entries
                                              : globals_;
        for (auto& e : entries) {
            if (e.key == entry.key) {
                warn_at(line_, fmt::format("{} is given again{} (line {}): the last value counts, "
                                           "as in piranha",
                                           head, where, e.line));
                e = std::move(entry);
                return;
            }
        }
        entries.push_back(std::move(entry));
    }

    void open_block(const std::vector<Token>& tokens, const std::string& kind) {
        if (tokens.size() < 3 || tokens[2].text != "{" || tokens[2].quote != 0) {
            fail(fmt::format("expected '{} NAME {{' with the brace on the same line", kind));
        }
        if (tokens.size() > 3) {
            fail(extra_words(fmt::format("'{} NAME {{'", kind), tokens, 3));
        }
        const auto& name = tokens[1].text;
        if (name.empty() || name.find_first_of(" \t'\"{}") != std::string::npos) {
            fail(fmt::format("{} name {:?}: lvsctl keeps names of one word", kind, name));
        }
    }

    // The reason for words after a complete line; a '#' there is a comment piranha refuses.
    static std::string extra_words(const std::string& what, const std::vector<Token>& tokens,
                                   std::size_t from) {
        if (tokens[from].quote == 0 && tokens[from].text.starts_with("#")) {
            return fmt::format(
                "{} is followed by a comment; piranha reads '#' as a comment only "
                "at the start of a line: move it to a line of its own",
                what);
        }
        return fmt::format("{} is followed by {:?}: unexpected arguments", what,
                           tokens[from].written());
    }

    void check_value(const Entry& e) {
        const auto& spec = *e.spec;
        const auto& v = e.value;
        const std::size_t want = spec.kind == Kind::address ? 2 : 1;
        if (spec.kind == Kind::list) {
            const bool open = !v.empty() && v.front().text == "[" && v.front().quote == 0;
            const auto close = std::find_if(
                v.begin(), v.end(), [](const Token& t) { return t.text == "]" && t.quote == 0; });
            if (!open || close == v.end()) {
                fail(fmt::format("{}: a list '[ word ... ]' expected", e.key));
            }
            if (close + 1 != v.end()) {
                fail(extra_words(fmt::format("{} = [ ... ]", e.key), v, close + 1 - v.begin()));
            }
            return;
        }
        if (v.size() < want) {
            fail(fmt::format("{}: missing arguments ({} expected)", e.key,
                             want == 2 ? "an address and a device" : "a value"));
        }
        if (v.size() > want) {
            fail(extra_words(fmt::format("{} = {}", e.key, v[want - 1].written()), v, want));
        }
        const auto& text = v.front().text;
        switch (spec.kind) {
            case Kind::integer:
                if (!c_integer(text)) {
                    fail(fmt::format("{} = {}: integer expected", e.key, text));
                }
                break;
            case Kind::boolean: {
                const auto n = c_integer(text);
                if (!n || (*n != 0 && *n != 1)) {
                    fail(fmt::format("{} = {}: boolean (0 or 1) expected", e.key, text));
                }
                break;
            }
            case Kind::port:
                if (!service_port(text)) {
                    fail(
                        fmt::format("{} = {}: a port number or a well-known service name "
                                    "expected",
                                    e.key, text));
                }
                break;
            case Kind::host:
            case Kind::address:
                host(e.key, text);
                if (spec.kind == Kind::address &&
                    v[1].text.find_first_of(" \t'\"") != std::string::npos) {
                    fail(fmt::format("{}: device {:?} is not a device name", e.key, v[1].text));
                }
                break;
            case Kind::inet: {
                in_addr a{};
                if (inet_aton(text.c_str(), &a) == 0) {
                    fail(fmt::format("{} = {}: an IPv4 address or netmask expected", e.key, text));
                }
                break;
            }
            case Kind::choice:
                if (std::find(spec.choices.begin(), spec.choices.end(), text) ==
                    spec.choices.end()) {
                    fail(fmt::format("{} = {}: expected one of {}", e.key, text,
                                     fmt::join(spec.choices, ", ")));
                }
                break;
            case Kind::word:
            case Kind::loose:
            case Kind::list:
                break;
        }
    }

    // An address, or a host name that resolves (piranha's gethostbyname).
    IpAddress host(const std::string& key, const std::string& text) const {
        if (auto ip = IpAddress::parse(text)) {
            // piranha refuses 0.0.0.0 where it needs a director's address.
            const bool director =
                key == "primary" || key == "primary_private" || key == "backup_private";
            if (director && *ip == IpAddress()) {
                fail(fmt::format("{} = {}: invalid host name or IP address", key, text));
            }
            return *ip;
        }
        if (hints_.resolve) {
            if (auto ip = hints_.resolve(text)) {
                return *ip;
            }
        }
        fail(fmt::format("{} = {}: not an IP address, and the name does not resolve", key, text));
    }

    IpAddress resolved(const Entry& e) {
        auto ip = host(e.key, e.first());
        if (ip.str() != e.first()) {
            warn_at(e.line, fmt::format("{} = {}: resolved to {}", e.key, e.first(), ip.str()));
        }
        return ip;
    }

    std::int64_t number(const Entry& e) const { return *c_integer(e.first()); }
    std::int64_t number(const Entry& e, std::int64_t lo, std::int64_t hi) const {
        const auto n = number(e);
        if (n < lo || n > hi) {
            fail_at(e.line, fmt::format("{} = {}: lvsctl takes {}..{}", e.key, e.first(), lo, hi));
        }
        return n;
    }

    void keep(std::vector<LvsCfSetting>& into, const Entry& e, const std::string& what) {
        into.push_back({e.key, e.written()});
        warn_at(e.line,
                fmt::format("{} = {}: kept for the piranha backend; {}", e.key, e.written(), what));
    }

    std::string unescape(const Entry& e) const {
        // nanny expands \r \n \t; any other backslash stays as written.
        const auto& raw = e.first();
        std::string out;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
            if (raw[i] == '\\' && (next == 'r' || next == 'n' || next == 't')) {
                out += next == 'r' ? '\r' : next == 'n' ? '\n' : '\t';
                ++i;
            } else {
                out += raw[i];
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // From the blocks to the cluster model.

    void build() {
        auto& c = result_.cluster;
        c.check_send.reset();
        c.check_expect.reset();
        c.scheduler = "wlc";
        c.forwarding = Forwarding::masq;  // piranha's default network
        // A piranha pair is pulse's to arbitrate: the file says nothing of VRRP (docs/ha.md).
        c.ha = Ha::external;
        build_globals();
        build_virtuals();
    }

    void build_globals() {
        auto& c = result_.cluster;
        const auto* active = find_entry(globals_, "backup_active");
        const bool backup_active = active != nullptr && number(*active) == 1;
        for (const auto& e : globals_) {
            if (e.key == "primary") {
                c.load_balancers.insert(c.load_balancers.begin(),
                                        {Role::primary, resolved(e), 22, "eth1"});
            } else if (e.key == "backup" && backup_active) {
                c.load_balancers.push_back({Role::backup, resolved(e), 22, "eth1"});
            } else if ((e.key == "backup" || e.key == "backup_active") && !backup_active) {
                // An inactive backup is pulse's business only: kept, not an LB lvsctl drives.
                if (e.key == "backup") {
                    host(e.key, e.first());
                }
                keep(c.lvscf.global, e,
                     "the backup LB is not active (backup_active = 1), "
                     "so lvsctl does not drive it");
            } else if (e.key == "serial_no") {
                c.serial = number(e, 0, 0x7fffffff);
            } else if (e.key == "network") {
                c.forwarding = e.first() == "direct" ? Forwarding::route
                               : e.first() == "nat"  ? Forwarding::masq
                                                     : Forwarding::tunnel;
            } else if (e.key == "service") {
                if (e.first() == "fos") {
                    fail_at(e.line,
                            "service = fos: piranha's failover services are not load "
                            "balancing; lvsctl drives LVS only");
                }
            } else if (e.spec->use == Use::kept) {
                keep(c.lvscf.global, e, "lvsctl's ipvs backend does not act on it");
            }
        }
    }

    VirtualValues values_of(const RawVirtual& v) {
        VirtualValues out;
        for (const auto& e : v.entries) {
            const auto& k = e.key;
            if (k == "fwmark") {
                out.fwmark = number(e, 1, 0xffffffffLL);
            } else if (k == "port") {
                out.port = *service_port(e.first());
                if (out.port < 1 || out.port > 65535) {
                    fail_at(e.line, fmt::format("port = {}: not in 1..65535", e.first()));
                }
            } else if (k == "protocol") {
                out.protocol = e.first();
            } else if (k == "scheduler") {
                out.scheduler = e.first();
            } else if (k == "persistent") {
                out.persistent = number(e, 0, 0x7fffffff);
            } else if (k == "timeout") {
                out.timeout = number(e, 1, 86400);
            } else if (k == "reentry") {
                out.reentry = number(e, 0, 86400);
            } else if (k == "send") {
                out.send = unescape(e);
            } else if (k == "expect") {
                out.expect = unescape(e);
            } else if (k == "use_regex") {
                out.use_regex = number(e) == 1;
            } else if (k == "send_program") {
                out.send_program = e.first();
            } else if (k == "load_monitor" && e.first().starts_with("/")) {
                out.load_monitor = e.first();  // a program lvsctl's monitor runs
            } else if (k == "quiesce_server") {
                out.quiesce_server = number(e) == 1;
            } else if (k == "active") {
                out.active = number(e) == 1;
            } else if (k == "address") {
                out.device = e.value[1].text;
            } else if (e.spec->use != Use::model) {
                // nanny's own load monitors (none, uptime, rup, ruptime) are pulse's business.
                out.kept.push_back({e.key, e.written()});
            }
        }
        return out;
    }

    // The first setting two virtuals of one cluster disagree on, or "".
    static std::string difference(const VirtualValues& a, const VirtualValues& b) {
        const std::array<std::pair<const char*, bool>, 16> same = {{
            {"fwmark", a.fwmark == b.fwmark},
            {"port", a.port == b.port},
            {"protocol", a.protocol == b.protocol},
            {"scheduler", a.scheduler == b.scheduler},
            {"persistent", a.persistent == b.persistent},
            {"timeout", a.timeout == b.timeout},
            {"reentry", a.reentry == b.reentry},
            {"send", a.send == b.send},
            {"expect", a.expect == b.expect},
            {"use_regex", a.use_regex == b.use_regex},
            {"send_program", a.send_program == b.send_program},
            {"load_monitor", a.load_monitor == b.load_monitor},
            {"quiesce_server", a.quiesce_server == b.quiesce_server},
            {"active", a.active == b.active},
            {"the address's device", a.device == b.device},
            {"the settings lvsctl keeps (sorry_server, pmask, ...)", a.kept == b.kept},
        }};
        for (const auto& [key, equal] : same) {
            if (!equal) {
                return key;
            }
        }
        return {};
    }

    Family family_of(const RawVirtual& v) const {
        if (v.name.ends_with("-v6")) {
            return Family::inet6;
        }
        if (v.name.ends_with("-v4")) {
            return Family::inet;
        }
        if (const auto* a = find_entry(v.entries, "address")) {
            return host(a->key, a->first()).family();
        }
        for (const auto& s : v.servers) {
            if (const auto* a = find_entry(s.entries, "address")) {
                return host(a->key, a->first()).family();
            }
        }
        return Family::inet;
    }

    void build_virtuals() {
        auto& c = result_.cluster;
        std::map<Family, const RawVirtual*> by_family;
        std::optional<VirtualValues> agreed;
        const RawVirtual* agreed_from = nullptr;
        std::map<std::string, std::size_t> server_index;  // name -> c.servers[i]
        std::int64_t next_node_id = 1;
        for (const auto& v : virtuals_) {
            if (v.failover) {
                fail_at(v.line, fmt::format("failover {}: piranha's failover services (fos) are "
                                            "not load balancing; lvsctl does not run them",
                                            v.name));
            }
            const auto family = family_of(v);
            const auto fam = ip_version(family);
            if (auto [it, fresh] = by_family.emplace(family, &v); !fresh) {
                fail_at(v.line, fmt::format("virtual {}: a second {} virtual (the first is {} on "
                                            "line {}); a cluster is one service per address "
                                            "family: join the ports with a firewall mark "
                                            "(docs/migration.md)",
                                            v.name, fam, it->second->name, it->second->line));
            }
            auto base = v.name;
            const auto suffix = family == Family::inet ? "-v4" : "-v6";
            if (base.ends_with(suffix)) {
                base.resize(base.size() - 3);
            } else if (family == Family::inet) {
                c.lvscf.virtual_name = v.name;
            } else {
                c.lvscf.virtual_name_v6 = v.name;
            }
            if (family == Family::inet6) {
                c.lvscf.ipv6_virtual = true;
            }
            if (!c.name.empty() && c.name != base) {
                fail_at(v.line, fmt::format("virtual {} and virtual {} belong to different "
                                            "clusters: the names differ beyond -v4 / -v6",
                                            v.name, virtuals_.front().name));
            }
            c.name = base;
            const auto values = values_of(v);
            if (agreed) {
                const auto key = difference(*agreed, values);
                if (!key.empty()) {
                    fail_at(v.line, fmt::format("virtual {}: {} differs from virtual {} (line "
                                                "{}); both families of a cluster share it",
                                                v.name, key, agreed_from->name, agreed_from->line));
                }
            } else {
                agreed = values;
                agreed_from = &v;
            }
            if (const auto* a = find_entry(v.entries, "address")) {
                const auto ip = resolved(*a);
                if (ip.family() != family) {
                    fail_at(a->line,
                            fmt::format("virtual {}: address {} is not {}", v.name, ip.str(), fam));
                }
                if (std::find(c.website_ips.begin(), c.website_ips.end(), ip) ==
                    c.website_ips.end()) {
                    c.website_ips.push_back(ip);
                }
            }
            for (const auto& raw : v.servers) {
                add_server(v, raw, family, server_index, next_node_id);
            }
            warn_dropped(v, values);
        }
        if (agreed) {
            apply(*agreed);
        }
        if (c.name.empty()) {
            c.name = "imported";
        }
    }

    void warn_dropped(const RawVirtual& v, const VirtualValues& values) {
        for (const auto& e : v.entries) {
            if (e.spec->use == Use::kept ||
                (e.spec->use == Use::either && !e.first().starts_with("/"))) {
                warn_at(e.line, fmt::format("{} = {}: kept for the piranha backend; lvsctl's ipvs "
                                            "backend does not act on it",
                                            e.key, e.written()));
            }
        }
        if (!values.active) {
            warn_at(v.line, fmt::format("virtual {} is not active (active = 1 is missing): pulse "
                                        "does not run it; lvsctl's ipvs backend would",
                                        v.name));
        }
        if (!values.fwmark) {
            warn_at(v.line, fmt::format("virtual {} has no fwmark: lvsctl's ipvs backend serves "
                                        "its address and port by firewall mark 100",
                                        v.name));
        }
    }

    void apply(const VirtualValues& v) {
        auto& c = result_.cluster;
        c.fwmark = v.fwmark.value_or(100);
        c.lvscf.by_address = !v.fwmark;
        c.lvscf.inactive = !v.active;
        c.lvscf.address_device = v.device;
        c.lvscf.virtual_settings = v.kept;
        c.ports = {v.port};
        c.protocol = v.protocol;
        c.scheduler = v.scheduler;
        c.persistence = v.persistent;
        // nanny's -t: how often it checks, and how long a check may take.
        c.check_interval = v.timeout;
        c.check_timeout = v.timeout;
        c.check_reentry = v.reentry;
        c.check_send = v.send;
        c.check_expect = v.expect;
        c.check_use_regex = v.use_regex;
        c.check_program = v.send_program;
        c.load_monitor = v.load_monitor;
        c.quiesce_server = v.quiesce_server;
        if (v.device) {
            // pulse raises the VIP on the device (eth0:1 is an alias of eth0).
            const auto device = v.device->substr(0, v.device->find(':'));
            for (auto& lb : c.load_balancers) {
                lb.vip_interface = device;
            }
        }
    }

    void add_server(const RawVirtual& v, const RawServer& raw, Family family,
                    std::map<std::string, std::size_t>& index, std::int64_t& next_node_id) {
        auto& c = result_.cluster;
        const auto* address_entry = find_entry(raw.entries, "address");
        if (address_entry == nullptr) {
            fail_at(raw.line, fmt::format("server {} has no address", raw.name));
        }
        const auto address = resolved(*address_entry);
        if (address.family() != family) {
            fail_at(address_entry->line,
                    fmt::format("server {}: address {} is not of virtual {}'s family", raw.name,
                                address.str(), v.name));
        }
        const auto* weight_entry = find_entry(raw.entries, "weight");
        const auto weight = weight_entry ? number(*weight_entry, 0, 65535) : 1;
        const auto* active_entry = find_entry(raw.entries, "active");
        const bool active = active_entry != nullptr && number(*active_entry) == 1;
        std::vector<LvsCfSetting> kept;
        for (const auto& e : raw.entries) {
            if (e.spec->use == Use::kept) {
                kept.push_back({e.key, e.written()});
                warn_at(e.line, fmt::format("server {}: {} = {}: kept for the piranha backend; "
                                            "in direct routing the port is the service's",
                                            raw.name, e.key, e.written()));
            }
        }
        auto it = index.find(raw.name);
        if (it == index.end()) {
            if (family == Family::inet6) {
                fail_at(raw.line, fmt::format("server {} has an IPv6 address but no IPv4 one; "
                                              "list it in the IPv4 virtual too",
                                              raw.name));
            }
            const auto mgmt = management(raw, address);
            index.emplace(raw.name, c.servers.size());
            Server s;
            s.node_id = next_node_id++;
            s.mgmt_address = mgmt;
            s.address = address;
            s.weight = weight;
            s.active = active;
            if (raw.name != mgmt.str()) {
                s.lvscf_name = raw.name;
            }
            s.lvscf_settings = std::move(kept);
            c.servers.push_back(std::move(s));
            return;
        }
        auto& s = c.servers[it->second];
        if (family == Family::inet || s.address_v6) {
            fail_at(raw.line, fmt::format("server {} is listed twice for one family", raw.name));
        }
        if (s.weight != weight || s.active != active || s.lvscf_settings != kept) {
            fail_at(raw.line, fmt::format("server {}: weight, active and port must be the same "
                                          "in the IPv4 and IPv6 virtuals",
                                          raw.name));
        }
        s.address_v6 = address;
    }

    IpAddress management(const RawServer& raw, const IpAddress& address) {
        if (auto mgmt = management_address(hints_, raw.name)) {
            if (!IpAddress::parse(raw.name) && !hints_.servers.contains(raw.name)) {
                warn_at(raw.line, fmt::format("server {}: managed at {}, what its name resolves "
                                              "to",
                                              raw.name, mgmt->str()));
            }
            return *mgmt;
        }
        if (hints_.address_as_management) {
            return address;
        }
        fail_at(raw.line, fmt::format("server {}: its name is not an IP address and does not "
                                      "resolve; give its management (SSH) address with "
                                      "--server {}=MGMT_IP",
                                      raw.name, raw.name));
    }

    std::string_view text_;
    std::string_view source_;
    const ImportHints& hints_;
    std::size_t line_ = 0;
    std::vector<Entry> globals_;
    std::deque<RawVirtual> virtuals_;  // stable addresses: virtual_ points into it
    RawVirtual* virtual_ = nullptr;
    RawServer* server_ = nullptr;
    Imported result_;
};

bool is_word(std::string_view text) {
    return !text.empty() && !text.starts_with("#") &&
           std::none_of(text.begin(), text.end(), [](char ch) {
               const auto u = static_cast<unsigned char>(ch);
               return u <= 0x20 || u == 0x7f || ch == '"' || ch == '\'' || ch == '{' || ch == '}';
           });
}

}  // namespace

std::string lvscf_setting_problem(LvsCfScope scope, const LvsCfSetting& setting) {
    const auto& keys = scope == LvsCfScope::global            ? global_keys()
                       : scope == LvsCfScope::virtual_service ? virtual_keys()
                                                              : server_keys();
    const auto* spec = find_key(keys, setting.key);
    const bool inactive_backup =
        scope == LvsCfScope::global && (setting.key == "backup" || setting.key == "backup_active");
    if (spec == nullptr || (spec->use == Use::model && !inactive_backup)) {
        return fmt::format("{:?} is not an lvs.cf key lvsctl keeps here", setting.key);
    }
    if (setting.value.find_first_of("\r\n") != std::string::npos) {
        return "a value cannot span lines";
    }
    // Read back as piranha would: one line of its own, of the right kind, and nothing more.
    const auto line = setting.key + " = " + setting.value + "\n";
    std::string text;
    switch (scope) {
        case LvsCfScope::global:
            text = line;
            break;
        case LvsCfScope::virtual_service:
            text = "virtual v {\n" + line + "}\n";
            break;
        case LvsCfScope::server:
            text = "virtual v {\nserver s {\naddress = 192.0.2.1\n" + line + "}\n}\n";
            break;
    }
    ImportHints hints;
    hints.resolve = [](std::string_view name) -> std::optional<IpAddress> {
        // Host names are piranha's to resolve when it reads the file.
        return is_word(name) ? IpAddress::parse("192.0.2.1") : std::nullopt;
    };
    hints.address_as_management = true;
    try {
        Parser(text, "lvs.cf", hints).run();
    } catch (const Error& e) {
        std::string why = e.what();
        const std::string prefix = "lvs.cf line ";
        if (why.starts_with(prefix)) {
            why = why.substr(why.find(": ") + 2);
        }
        return why;
    }
    return {};
}

bool is_lvscf_word(std::string_view text) {
    return is_word(text);
}

Imported parse_lvs_cf(std::string_view text, std::string_view source, const ImportHints& hints) {
    return Parser(text, source, hints).run();
}

std::optional<std::int64_t> well_known_port(std::string_view name) {
    // The names /etc/services gives the ports a web cluster serves or checks (IANA's registry):
    // a table of our own, so that a file reads the same on every machine.
    static const std::map<std::string_view, std::int64_t> kNames = {
        {"ftp", 21},          {"ssh", 22},          {"telnet", 23},     {"smtp", 25},
        {"domain", 53},       {"http", 80},         {"www", 80},        {"www-http", 80},
        {"pop3", 110},        {"imap", 143},        {"imap2", 143},     {"ldap", 389},
        {"https", 443},       {"submissions", 465}, {"smtps", 465},     {"submission", 587},
        {"ldaps", 636},       {"imaps", 993},       {"pop3s", 995},     {"mysql", 3306},
        {"postgresql", 5432}, {"http-alt", 8080},   {"webcache", 8080},
    };
    const auto it = kNames.find(name);
    return it == kNames.end() ? std::nullopt : std::optional(it->second);
}

std::optional<std::int64_t> service_port(std::string_view text) {
    if (auto port = well_known_port(text)) {
        return port;
    }
    if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEFxX+-") != text.npos) {
        return std::nullopt;
    }
    return c_integer(std::string(text));
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
