// keepalived.conf's virtual servers into the cluster model. keepalived's syntax as its parser
// takes it: words separated by blanks, '{' and '}' words of their own, double-quoted strings,
// '!' or '#' starting a comment to the end of the line; a keyword and its words on one line, its
// block (when it has one) in braces. Only virtual_server, virtual_server_group and, for a
// warning, vrrp_instance's addresses are read; every other top-level block is skipped whole.
//
// The checks are read as the inverse of templates/render.cpp's: HTTP_GET { url { path P;
// status_code C } } is check_send "GET P HTTP/1.0\r\n\r\n" with check_expect "HTTP" (any status,
// 100-599) or a regular expression for one status code; TCP_CHECK is a connect (no send, no
// expect); MISC_CHECK's misc_path is check_program, the server's address turned back into %h.
// A keepalived.conf lvsctl rendered (its first line says so) also gives back, from lvsctl's own
// comments, the cluster's name and serial, its LBs, website IPs, ports and protocol, and each
// server's node id and management address.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/import.h"
#include "lvsctl/import_services.h"

namespace lvsctl {

namespace {

struct Word {
    std::string text;
    bool quoted = false;
};

struct Node {
    std::size_t line = 0;
    std::vector<Word> words;
    bool block = false;
    std::vector<Node> children;

    const std::string& key() const { return words.front().text; }
};

constexpr std::size_t kMaxDepth = 8;

// keepalived's top-level blocks that are not about virtual servers: skipped whole.
const std::set<std::string_view> kOtherBlocks = {
    "global_defs",         "vrrp_sync_group",    "vrrp_script",
    "static_ipaddress",    "static_routes",      "static_rules",
    "linkbeat_interfaces", "vrrp_track_process", "track_file",
    "garp_group",          "bfd_instance",       "net_namespace",
    "vrrp_track_file",     "track_process",      "instance"};

// Inside a virtual_server or real_server: about checks or notifications only, so dropping them
// changes no traffic (a warning says so).
const std::set<std::string_view> kCheckOnly = {"alpha",
                                               "omega",
                                               "quorum",
                                               "quorum_up",
                                               "quorum_down",
                                               "hysteresis",
                                               "ha_suspend",
                                               "virtualhost",
                                               "retry",
                                               "delay_before_retry",
                                               "warmup",
                                               "smtp_alert",
                                               "notify_up",
                                               "notify_down",
                                               "sorry_server_inhibit",
                                               "delay_loop_random",
                                               "nb_get_retry",
                                               "connect_ip",
                                               "bindto",
                                               "bind_port",
                                               "bind_if",
                                               "fwmark",
                                               "digest",
                                               "user",
                                               "misc_dynamic",
                                               "checker_log_all_failures",
                                               "log_all_failures",
                                               "enable_sni",
                                               "http_protocol",
                                               "tls_compliant",
                                               "check_timeout",
                                               "rise",
                                               "fall",
                                               "source_ip"};

// Inside a virtual_server or real_server: they change which server gets traffic, or how.
const std::map<std::string_view, std::string_view> kRefused = {
    {"sorry_server", "a sorry server takes the traffic when every real server is down"},
    {"ops", "one-packet scheduling (ops)"},
    {"one_packet_scheduling", "one-packet scheduling"},
    {"lvs_flags", "scheduler flags"},
    {"hashed", "a scheduler flag"},
    {"flag-1", "a scheduler flag"},
    {"flag-2", "a scheduler flag"},
    {"flag-3", "a scheduler flag"},
    {"sh-port", "a scheduler flag"},
    {"sh-fallback", "a scheduler flag"},
    {"mh-port", "a scheduler flag"},
    {"mh-fallback", "a scheduler flag"},
    {"persistence_engine", "a persistence engine"},
    {"tunnel_type", "a tunnel type"},
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

class Reader {
  public:
    Reader(std::string_view text, std::string_view source, const ImportHints& hints)
        : text_(text), source_(source), hints_(hints) {}

    Imported run() {
        split_lines();
        read_header();
        const auto top = parse_tree();
        for (const auto& node : top) {
            if (node.key() == "virtual_server_group") {
                const auto name = arg(node, 1, "a group name");
                if (!node.block) {
                    fail(node.line, "virtual_server_group without a block");
                }
                if (!groups_.emplace(name, &node).second) {
                    fail(node.line, fmt::format("virtual_server_group {} is defined twice", name));
                }
            }
        }
        for (const auto& node : top) {
            top_level(node);
        }
        if (!vrrp_addresses_.empty()) {
            warnings_.push_back(
                fmt::format("line {}: VRRP addresses {}: lvsctl's VRRP is "
                            "configured with ha=vrrp, docs/ha.md",
                            vrrp_line_, fmt::join(vrrp_addresses_, " ")));
        }
        bool any_check = false;
        for (const auto& s : services_) {
            for (const auto& r : s.servers) {
                any_check = any_check || r.check.has_value();
            }
        }
        if (!any_check && !services_.empty()) {
            warnings_.push_back(fmt::format(
                "line {}: no real server has a health check; lvsctl's monitor keeps its default "
                "check (docs/monitor.md)",
                services_.front().line));
        }
        Imported out;
        out.warnings = std::move(warnings_);
        out.cluster = fold_services(services_, header_, source_, hints_, out.warnings);
        return out;
    }

  private:
    [[noreturn]] void fail(std::size_t line, const std::string& why) const {
        throw Error(ExitCode::data, fmt::format("{} line {}: {}", source_, line, why));
    }
    void warn(std::size_t line, const std::string& what) {
        warnings_.push_back(fmt::format("line {}: {}", line, what));
    }

    void split_lines() {
        std::size_t pos = 0;
        while (pos < text_.size()) {
            auto end = text_.find('\n', pos);
            if (end == std::string_view::npos) {
                end = text_.size();
            }
            auto line = text_.substr(pos, end - pos);
            if (line.ends_with('\r')) {
                line.remove_suffix(1);
            }
            lines_.push_back(line);
            pos = end + 1;
        }
    }

    // lvsctl's own comments (templates/keepalived.conf.tpl), only under lvsctl's first line.
    void read_header() {
        if (lines_.empty()) {
            return;
        }
        constexpr std::string_view kFirst = "# keepalived.conf for cluster ";
        constexpr std::string_view kSerial = ", serial ";
        constexpr std::string_view kEnd = ", rendered by lvsctl.";
        const auto first = lines_[0];
        const auto serial_at = first.rfind(kSerial);
        if (!first.starts_with(kFirst) || !first.ends_with(kEnd) ||
            serial_at == std::string_view::npos || serial_at < kFirst.size()) {
            return;
        }
        const auto serial_text = first.substr(
            serial_at + kSerial.size(), first.size() - kEnd.size() - serial_at - kSerial.size());
        const auto serial = whole(serial_text);
        if (!serial) {
            return;
        }
        header_.name = std::string(first.substr(kFirst.size(), serial_at - kFirst.size()));
        header_.serial = *serial;
        for (std::size_t i = 1; i < lines_.size(); ++i) {
            const auto no = i + 1;
            auto line = lines_[i];
            const auto start = line.find_first_not_of(" \t");
            if (start == std::string_view::npos) {
                continue;
            }
            line.remove_prefix(start);
            // The template's lines 2 and 3; a node line above each real server.
            if (no == 2 && (line.starts_with("# primary ") || line == "# primary")) {
                load_balancers(no, line.substr(std::min(line.size(), std::size_t{10})));
            } else if (no == 3 && line.starts_with("# website IPs:")) {
                website_ips(no, line.substr(14));
            } else if (line.starts_with("# node ")) {
                node_comment(no, line.substr(7));
            }
        }
    }

    static std::optional<std::int64_t> whole(std::string_view text) {
        std::int64_t n = 0;
        const auto* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, n);
        if (text.empty() || ec != std::errc() || ptr != end) {
            return std::nullopt;
        }
        return n;
    }

    IpAddress header_address(std::size_t line, std::string_view text) const {
        auto ip = IpAddress::parse(text);
        if (!ip) {
            fail(line,
                 fmt::format("lvsctl's comment names {}, which is not an address", quoted(text)));
        }
        return *ip;
    }

    static LoadBalancer balancer(Role role, const IpAddress& mgmt) {
        LoadBalancer lb;
        lb.role = role;
        lb.mgmt_address = mgmt;
        return lb;
    }

    // "A" or "A, backup B" (the text after "# primary ").
    void load_balancers(std::size_t line, std::string_view text) {
        constexpr std::string_view kBackup = ", backup ";
        const auto comma = text.find(kBackup);
        const auto primary = text.substr(0, comma);
        if (!primary.empty()) {
            header_.load_balancers.push_back(
                balancer(Role::primary, header_address(line, primary)));
        }
        if (comma != std::string_view::npos) {
            header_.load_balancers.push_back(
                balancer(Role::backup, header_address(line, text.substr(comma + kBackup.size()))));
        }
    }

    static std::vector<std::string_view> split(std::string_view text) {
        std::vector<std::string_view> out;
        std::size_t i = 0;
        while (i < text.size()) {
            const auto start = text.find_first_not_of(' ', i);
            if (start == std::string_view::npos) {
                break;
            }
            auto end = text.find(' ', start);
            if (end == std::string_view::npos) {
                end = text.size();
            }
            out.push_back(text.substr(start, end - start));
            i = end;
        }
        return out;
    }

    // " IP IP; ports: P P; protocol: tcp"
    void website_ips(std::size_t line, std::string_view text) {
        const auto ports_at = text.find("; ports:");
        const auto protocol_at = text.find("; protocol: ");
        if (ports_at == std::string_view::npos || protocol_at == std::string_view::npos ||
            protocol_at < ports_at) {
            fail(line,
                 "lvsctl's website IPs comment is not \"# website IPs: IP...; ports: "
                 "PORT...; protocol: PROTOCOL\"");
        }
        std::vector<IpAddress> ips;
        for (auto word : split(text.substr(0, ports_at))) {
            ips.push_back(header_address(line, word));
        }
        std::vector<std::int64_t> ports;
        for (auto word : split(text.substr(ports_at + 8, protocol_at - ports_at - 8))) {
            const auto port = whole(word);
            if (!port) {
                fail(line, fmt::format("lvsctl's comment names port {}, which is not a number",
                                       quoted(word)));
            }
            ports.push_back(*port);
        }
        header_.website_ips = std::move(ips);
        header_.ports = std::move(ports);
        header_.protocol = std::string(text.substr(protocol_at + 12));
    }

    // "N, managed at MGMT" above a real_server.
    void node_comment(std::size_t line, std::string_view text) {
        constexpr std::string_view kManaged = ", managed at ";
        const auto comma = text.find(kManaged);
        if (comma == std::string_view::npos) {
            return;
        }
        const auto node = whole(text.substr(0, comma));
        if (!node) {
            return;
        }
        nodes_[line] = {*node, header_address(line, text.substr(comma + kManaged.size()))};
    }

    std::vector<Word> tokenize(std::size_t no, std::string_view line) const {
        std::vector<Word> out;
        std::size_t i = 0;
        while (i < line.size()) {
            const char c = line[i];
            const auto u = static_cast<unsigned char>(c);
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i;
            } else if (c == '!' || c == '#') {
                break;
            } else if (c == '{' || c == '}') {
                out.push_back({std::string(1, c), false});
                ++i;
            } else if (c == '"') {
                const auto close = line.find('"', i + 1);
                if (close == std::string_view::npos) {
                    fail(no, "a quoted string is not closed on its line");
                }
                out.push_back({std::string(line.substr(i + 1, close - i - 1)), true});
                i = close + 1;
            } else if (u < 0x20 || u == 0x7f) {
                fail(no, fmt::format("control character 0x{:02x}", u));
            } else {
                auto j = i;
                while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' &&
                       line[j] != '{' && line[j] != '}' && line[j] != '"') {
                    ++j;
                }
                out.push_back({std::string(line.substr(i, j - i)), false});
                i = j;
            }
        }
        for (const auto& w : out) {
            for (char ch : w.text) {
                const auto u = static_cast<unsigned char>(ch);
                if ((u < 0x20 && ch != '\t') || u == 0x7f) {
                    fail(no, fmt::format("control character 0x{:02x}", u));
                }
            }
        }
        return out;
    }

    std::vector<Node> parse_tree() const {
        std::vector<Node> top;
        std::vector<std::vector<Node>*> stack{&top};
        std::vector<std::size_t> open_lines;
        Node current;
        auto flush = [&]() {
            if (!current.words.empty()) {
                stack.back()->push_back(std::move(current));
            }
            current = Node{};
        };
        for (std::size_t i = 0; i < lines_.size(); ++i) {
            const auto no = i + 1;
            for (auto& word : tokenize(no, lines_[i])) {
                if (!word.quoted && word.text == "{") {
                    if (current.words.empty()) {
                        // '{' on a line of its own opens the block of the keyword above it.
                        auto& level = *stack.back();
                        if (level.empty() || level.back().block) {
                            fail(no, "'{' without a keyword before it");
                        }
                        current = std::move(level.back());
                        level.pop_back();
                    }
                    if (stack.size() > kMaxDepth) {
                        fail(no, "blocks are nested too deep");
                    }
                    current.block = true;
                    stack.back()->push_back(std::move(current));
                    current = Node{};
                    stack.push_back(&stack.back()->back().children);
                    open_lines.push_back(stack.size() > 1 ? no : 0);
                } else if (!word.quoted && word.text == "}") {
                    flush();
                    if (stack.size() == 1) {
                        fail(no, "'}' without an open block");
                    }
                    stack.pop_back();
                    open_lines.pop_back();
                } else {
                    if (current.words.empty()) {
                        current.line = no;
                        if (word.quoted) {
                            fail(no, "a keyword cannot be quoted");
                        }
                    }
                    current.words.push_back(std::move(word));
                }
            }
            flush();
        }
        if (stack.size() > 1) {
            fail(open_lines.back(), "a block opened here is not closed");
        }
        return top;
    }

    const std::string& arg(const Node& node, std::size_t at, std::string_view what) const {
        if (node.words.size() <= at) {
            fail(node.line, fmt::format("{} needs {}", node.key(), what));
        }
        return node.words[at].text;
    }

    std::int64_t number(const Node& node, std::int64_t lo, std::int64_t hi) const {
        const auto& text = arg(node, 1, "a number");
        const auto n = whole(text);
        if (!n || *n < lo || *n > hi) {
            fail(node.line, fmt::format("{} {}: not a whole number in {}..{}", node.key(),
                                        quoted(text), lo, hi));
        }
        return *n;
    }

    IpAddress address(const Node& node, const std::string& text) const {
        auto ip = IpAddress::parse(text);
        if (!ip) {
            fail(node.line, fmt::format("{}: {} is not an IP address", node.key(), quoted(text)));
        }
        return *ip;
    }

    std::int64_t port(const Node& node, const std::string& text) const {
        const auto n = whole(text);
        if (!n || *n < 0 || *n > 65535) {
            fail(node.line,
                 fmt::format("{}: port {} is not a number in 0..65535", node.key(), quoted(text)));
        }
        return *n;
    }

    void top_level(const Node& node) {
        const auto& key = node.key();
        if (key == "include") {
            fail(node.line,
                 fmt::format("include {}: lvsctl reads one file; import the configuration with "
                             "its included files written into it",
                             node.words.size() > 1 ? node.words[1].text : std::string()));
        }
        if (key.starts_with('$') || key.starts_with('@')) {
            fail(node.line, fmt::format("{}: keepalived's parameters and conditional lines are "
                                        "not expanded by lvsctl; import keepalived's expanded "
                                        "configuration",
                                        key));
        }
        if (key == "virtual_server") {
            virtual_server(node);
        } else if (key == "virtual_server_group") {
            return;  // read with the virtual_server that names it
        } else if (key == "vrrp_instance") {
            for (const auto& child : node.children) {
                if (child.key() == "virtual_ipaddress" ||
                    child.key() == "virtual_ipaddress_excluded") {
                    for (const auto& a : child.children) {
                        vrrp_addresses_.push_back(a.key());
                    }
                    if (vrrp_line_ == 0) {
                        vrrp_line_ = child.line;
                    }
                }
            }
        } else if (!kOtherBlocks.contains(key)) {
            warn(node.line, fmt::format("{}: not about virtual servers, skipped", key));
        }
    }

    void virtual_server(const Node& node) {
        if (!node.block) {
            fail(node.line, "virtual_server without a block");
        }
        std::vector<ImportedService> targets;
        const auto& kind = arg(node, 1, "fwmark N, IP PORT or group NAME");
        if (kind == "group") {
            const auto& name = arg(node, 2, "a group name");
            auto it = groups_.find(name);
            if (it == groups_.end()) {
                fail(node.line, fmt::format("virtual_server group {}: no virtual_server_group {}",
                                            name, name));
            }
            for (const auto& entry : it->second->children) {
                group_entry(node, name, entry, targets);
            }
            if (targets.empty()) {
                fail(node.line, fmt::format("virtual_server_group {} is empty", name));
            }
        } else if (kind == "fwmark") {
            ImportedService s;
            s.line = node.line;
            s.fwmark = number_at(node, 2, 1, 0xffffffffLL);
            s.description = fmt::format("virtual_server fwmark {}", *s.fwmark);
            targets.push_back(std::move(s));
        } else {
            ImportedService s;
            s.line = node.line;
            s.vip = address(node, kind);
            s.port = port(node, arg(node, 2, "a port"));
            s.family = s.vip->family();
            s.description = fmt::format("virtual_server {} {}", kind, s.port);
            targets.push_back(std::move(s));
        }
        if (node.words.size() > 3) {
            fail(node.line, fmt::format("virtual_server: unexpected {}", node.words[3].text));
        }
        ImportedService settings;
        std::optional<Family> family;
        std::optional<Forwarding> forwarding;
        std::vector<const Node*> real_servers;
        for (const auto& child : node.children) {
            const auto& key = child.key();
            if (key == "delay_loop") {
                settings.check_interval = number(child, 1, 86400);
            } else if (key == "lvs_sched" || key == "lb_algo") {
                settings.scheduler = arg(child, 1, "a scheduler");
            } else if (key == "lvs_method" || key == "lb_kind") {
                forwarding = method(child);
            } else if (key == "persistence_timeout") {
                settings.persistence = number(child, 0, 86400LL * 31);
            } else if (key == "persistence_granularity") {
                const auto& mask = arg(child, 1, "a netmask");
                if (mask != "255.255.255.255" && mask != "128") {
                    fail(child.line, fmt::format("{}: persistence_granularity {}: persistence by "
                                                 "client network cannot be held; lvsctl's is by "
                                                 "client address",
                                                 targets.front().description, mask));
                }
            } else if (key == "protocol") {
                const auto& p = arg(child, 1, "TCP, UDP or SCTP");
                if (!iequals(p, "tcp") && !iequals(p, "udp") && !iequals(p, "sctp")) {
                    fail(child.line, fmt::format("protocol {}: expected TCP, UDP or SCTP", p));
                }
                settings.protocol = p;
                std::transform(
                    settings.protocol.begin(), settings.protocol.end(), settings.protocol.begin(),
                    [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
            } else if (key == "ip_family") {
                const auto& f = arg(child, 1, "inet or inet6");
                if (f != "inet" && f != "inet6") {
                    fail(child.line, fmt::format("ip_family {}: expected inet or inet6", f));
                }
                family = f == "inet" ? Family::inet : Family::inet6;
            } else if (key == "real_server") {
                real_servers.push_back(&child);
            } else {
                other_keyword(child, targets.front().description);
            }
        }
        for (auto& s : targets) {
            if (family && s.vip && *family != s.family) {
                fail(node.line, fmt::format("{}: ip_family {} does not match the address",
                                            s.description, to_string(*family)));
            }
            if (!s.vip) {
                s.family = family.value_or(Family::inet);
                if (!family && !real_servers.empty()) {
                    const auto& text = arg(*real_servers.front(), 1, "an address");
                    if (auto ip = IpAddress::parse(text)) {
                        s.family = ip->family();
                    }
                }
            }
            s.check_interval = settings.check_interval;
            s.scheduler = settings.scheduler;
            s.persistence = settings.persistence;
            s.protocol = settings.protocol;
            for (const auto* rs : real_servers) {
                s.servers.push_back(real_server(*rs, s, forwarding.value_or(Forwarding::route)));
            }
            services_.push_back(std::move(s));
        }
    }

    std::int64_t number_at(const Node& node, std::size_t at, std::int64_t lo,
                           std::int64_t hi) const {
        const auto& text = arg(node, at, "a number");
        const auto n = whole(text);
        if (!n || *n < lo || *n > hi) {
            fail(node.line, fmt::format("{} {} is not a whole number in {}..{}",
                                        node.words[at - 1].text, quoted(text), lo, hi));
        }
        return *n;
    }

    void group_entry(const Node& vs, const std::string& group, const Node& entry,
                     std::vector<ImportedService>& targets) const {
        auto add = [&](ImportedService s, const std::string& what) {
            s.line = vs.line;
            s.description =
                fmt::format("virtual_server group {} ({}, line {})", group, what, entry.line);
            targets.push_back(std::move(s));
        };
        if (entry.key() == "fwmark") {
            ImportedService s;
            s.fwmark = number_at(entry, 1, 1, 0xffffffffLL);
            auto what = fmt::format("fwmark {}", *s.fwmark);
            add(std::move(s), what);
            return;
        }
        const auto& first = entry.key();
        const auto p = port(entry, arg(entry, 1, "a port"));
        // keepalived's range: A.B.C.D-E is D..E in the last byte (IPv4 only here).
        const auto dash = first.find('-');
        std::vector<IpAddress> vips;
        if (dash == std::string::npos) {
            vips.push_back(address(entry, first));
        } else {
            const auto base = address(entry, first.substr(0, dash));
            const auto last = whole(first.substr(dash + 1));
            const auto dot = first.rfind('.', dash);
            std::int64_t from = -1;
            if (dot != std::string::npos) {
                from = whole(std::string_view(first).substr(dot + 1, dash - dot - 1)).value_or(-1);
            }
            if (!base.is_v4() || !last || from < 0 || *last < from || *last > 255) {
                fail(entry.line, fmt::format("address range {}: expected A.B.C.D-E (IPv4, D <= E "
                                             "<= 255)",
                                             first));
            }
            for (auto n = from; n <= *last; ++n) {
                vips.push_back(*IpAddress::parse(fmt::format("{}.{}", first.substr(0, dot), n)));
            }
        }
        for (const auto& vip : vips) {
            ImportedService s;
            s.vip = vip;
            s.port = p;
            s.family = vip.family();
            auto what = fmt::format("{} {}", vip.str(), p);
            add(std::move(s), what);
        }
    }

    Forwarding method(const Node& node) const {
        const auto& m = arg(node, 1, "DR, NAT or TUN");
        if (iequals(m, "DR")) {
            return Forwarding::route;
        }
        if (iequals(m, "NAT")) {
            return Forwarding::masq;
        }
        if (iequals(m, "TUN")) {
            return Forwarding::tunnel;
        }
        fail(node.line, fmt::format("{} {}: expected DR, NAT or TUN", node.key(), m));
    }

    void other_keyword(const Node& node, const std::string& where) {
        const auto& key = node.key();
        if (auto it = kRefused.find(key); it != kRefused.end()) {
            fail(node.line,
                 fmt::format("{}: {}: {} cannot be held by lvsctl", where, key, it->second));
        }
        if (key == "uthreshold" || key == "lthreshold") {
            if (number(node, 0, 0x7fffffff) != 0) {
                fail(node.line, fmt::format("{}: {} {}: a connection threshold limits what a "
                                            "real server gets; lvsctl cannot hold it",
                                            where, key, node.words[1].text));
            }
            return;
        }
        if (kCheckOnly.contains(key)) {
            warn(node.line, fmt::format("{}: {}: concerns checks or notifications only, "
                                        "not kept",
                                        where, key));
            return;
        }
        warn(node.line, fmt::format("{}: unknown keyword {}, skipped (keepalived only warns too)",
                                    where, key));
    }

    ImportedRealServer real_server(const Node& node, const ImportedService& s,
                                   Forwarding forwarding) {
        ImportedRealServer r;
        r.line = node.line;
        r.name = arg(node, 1, "an address");
        r.address = address(node, r.name);
        if (node.words.size() > 2) {
            r.port = port(node, node.words[2].text);
        }
        if (node.words.size() > 3) {
            fail(node.line, fmt::format("real_server: unexpected {}", node.words[3].text));
        }
        if (r.address.family() != s.family) {
            fail(node.line, fmt::format("{}: real server {} is not of the service's address "
                                        "family",
                                        s.description, r.name));
        }
        r.forwarding = forwarding;
        // Only lvsctl's own files (nodes_ is filled under its header) carry node comments.
        if (auto it = nodes_.find(node.line - 1); it != nodes_.end()) {
            r.node_id = it->second.first;
            r.mgmt_address = it->second.second;
        }
        const auto where = fmt::format("{}: real_server {}", s.description, r.name);
        for (const auto& child : node.children) {
            const auto& key = child.key();
            if (key == "weight") {
                r.weight = number(child, 0, 65535);
            } else if (key == "inhibit_on_failure") {
                r.inhibit = true;
            } else if (key == "lvs_method" || key == "lb_kind") {
                r.forwarding = method(child);
            } else if (key == "HTTP_GET" || key == "SSL_GET" || key == "TCP_CHECK" ||
                       key == "MISC_CHECK") {
                if (r.check) {
                    warn(child.line, fmt::format("{}: a second checker ({}); lvsctl keeps one "
                                                 "check, the first",
                                                 where, key));
                    continue;
                }
                r.check = checker(child, r, where);
            } else if (key.ends_with("_CHECK")) {
                warn(child.line,
                     fmt::format("{}: {}: lvsctl's monitor cannot run it, not kept", where, key));
            } else {
                other_keyword(child, where);
            }
        }
        return r;
    }

    ImportedCheck checker(const Node& node, const ImportedRealServer& r, const std::string& where) {
        ImportedCheck check;
        const auto& kind = node.key();
        std::optional<std::string> path;
        std::optional<std::string> status;
        bool url_seen = false;
        for (const auto& child : node.children) {
            const auto& key = child.key();
            if (key == "connect_port" && kind != "MISC_CHECK") {
                check.port = number(child, 1, 65535);
            } else if ((key == "connect_timeout" && kind != "MISC_CHECK") ||
                       (key == "misc_timeout" && kind == "MISC_CHECK")) {
                check.timeout = number(child, 0, 86400);
            } else if (key == "misc_path" && kind == "MISC_CHECK") {
                check.program = program(child, r);
            } else if (key == "url" && (kind == "HTTP_GET" || kind == "SSL_GET")) {
                if (url_seen) {
                    warn(child.line,
                         fmt::format("{}: {}: a second url; lvsctl checks the first", where, kind));
                    continue;
                }
                url_seen = true;
                for (const auto& u : child.children) {
                    if (u.key() == "path") {
                        path = arg(u, 1, "a path");
                        if (!path->starts_with('/') ||
                            path->find_first_of(" \t") != std::string::npos) {
                            fail(u.line, fmt::format("{}: {} path {}: lvsctl's check requests a "
                                                     "path that starts with '/' and has no "
                                                     "blanks",
                                                     where, kind, quoted(*path)));
                        }
                    } else if (u.key() == "status_code") {
                        status = arg(u, 1, "a status code");
                    } else {
                        other_keyword(u, where + ": " + kind + " url");
                    }
                }
            } else {
                other_keyword(child, where + ": " + kind);
            }
        }
        if (!check.port && r.port && kind != "MISC_CHECK") {
            check.port = r.port;  // keepalived's default: the real server's port
        }
        if (kind == "MISC_CHECK" && !check.program) {
            fail(node.line, fmt::format("{}: MISC_CHECK without misc_path", where));
        }
        if (kind == "SSL_GET") {
            warn(node.line, fmt::format("{}: SSL_GET: lvsctl's check does not speak TLS; it "
                                        "connects to the port only",
                                        where));
        }
        if (kind == "HTTP_GET") {
            check.send = fmt::format("GET {} HTTP/1.0\r\n\r\n", path.value_or("/"));
            http_expect(node, where, status, check);
        }
        return check;
    }

    // The inverse of render.cpp's status: any status (100-599, or none given) is "HTTP", one
    // code C a regular expression for an answer with that code (keepalived's meaning; render
    // finds the code again).
    void http_expect(const Node& node, const std::string& where,
                     const std::optional<std::string>& status, ImportedCheck& check) {
        check.expect = "HTTP";
        if (!status || *status == "100-599") {
            return;
        }
        const bool code = status->size() == 3 && (*status)[0] >= '1' && (*status)[0] <= '5' &&
                          std::all_of(status->begin(), status->end(),
                                      [](char ch) { return ch >= '0' && ch <= '9'; });
        if (code) {
            check.expect =
                fmt::format("^HTTP/1.[01] {} ", *status);  // no backslash: lvs.cf cannot hold one
            check.use_regex = true;
            return;
        }
        warn(node.line, fmt::format("{}: status_code {}: lvsctl checks for one code or any "
                                    "answer; any HTTP answer passes",
                                    where, *status));
    }

    // misc_path with the real server's address turned back into %h.
    std::string program(const Node& node, const ImportedRealServer& r) const {
        std::string command = arg(node, 1, "a command");
        for (const auto& written : {r.name, r.address.str()}) {
            for (auto at = command.find(written); at != std::string::npos;
                 at = command.find(written, at + 2)) {
                command.replace(at, written.size(), "%h");
            }
        }
        return command;
    }

    std::string_view text_;
    std::string_view source_;
    const ImportHints& hints_;
    std::vector<std::string_view> lines_;
    ImportedHeader header_;
    std::map<std::size_t, std::pair<std::int64_t, IpAddress>> nodes_;
    std::map<std::string, const Node*> groups_;
    std::vector<ImportedService> services_;
    std::vector<std::string> vrrp_addresses_;
    std::size_t vrrp_line_ = 0;
    std::vector<std::string> warnings_;
};

}  // namespace

Imported parse_keepalived_conf(std::string_view text, std::string_view source,
                               const ImportHints& hints) {
    return Reader(text, source, hints).run();
}

}  // namespace lvsctl
