#include "templates/render.h"

#include <ctemplate/template.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>

#include "lvsctl/error.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/validate.h"

namespace lvsctl::templates {

namespace {

using ctemplate::TemplateDictionary;

std::string expand(const std::filesystem::path& path, const TemplateDictionary& dict) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ExitCode::config, fmt::format("template {}: cannot be read", path.string()));
    }
    std::ostringstream content;
    content << in.rdbuf();
    // update renders for several LBs (and update --all for several clusters) at once: one at a
    // time through the template engine, whatever its own locking.
    static std::mutex engine;
    const std::lock_guard lock(engine);
    // Built from the string, not through ctemplate's global cache, so that every call reads the
    // file as it is now and a syntax error is reported here rather than logged.
    std::unique_ptr<ctemplate::Template> tpl(
        ctemplate::Template::StringToTemplate(content.str(), ctemplate::DO_NOT_STRIP));
    if (!tpl) {
        throw Error(ExitCode::config,
                    fmt::format("template {}: not a valid ctemplate template", path.string()));
    }
    std::string out;
    if (!tpl->Expand(&out, &dict)) {
        throw Error(ExitCode::config, fmt::format("template {}: expansion failed", path.string()));
    }
    return out;
}

void set(TemplateDictionary* dict, const char* name, const std::string& value) {
    dict->SetValue(name, value);
}
void set(TemplateDictionary* dict, const char* name, std::int64_t value) {
    dict->SetValue(name, std::to_string(value));
}

void add_settings(TemplateDictionary& dict, const char* section,
                  const std::vector<LvsCfSetting>& settings) {
    for (const auto& setting : settings) {
        auto* d = dict.AddSectionDictionary(section);
        set(d, "KEY", setting.key);
        set(d, "VALUE", setting.value);
    }
}

// lvs.cf quotes with " or ': whichever the text does not hold (validate() refuses both).
std::string quote_for(std::string_view text) {
    return text.find('"') == std::string_view::npos ? "\"" : "'";
}

// What both templates share: the cluster's settings and one VIRTUAL section per address family.
void fill_common(TemplateDictionary& dict, const Cluster& c) {
    set(&dict, "NAME", c.name);
    set(&dict, "SERIAL", c.serial);
    set(&dict, "FWMARK", c.fwmark);
    set(&dict, "PORT", c.ports.front());
    set(&dict, "PROTOCOL", c.protocol);
    set(&dict, "SCHEDULER", c.scheduler);
    set(&dict, "TIMEOUT", c.check_timeout);
    set(&dict, "INTERVAL", c.check_interval);
    set(&dict, "REENTRY", c.check_reentry);
    set(&dict, "CHECK_PORT", c.check_port.value_or(c.ports.front()));
    set(&dict, "LOAD_SCALE", c.load_scale);
    if (const auto* primary = c.primary()) {
        set(&dict, "PRIMARY", primary->mgmt_address.str());
    }
    if (const auto* backup = c.backup()) {
        set(dict.AddSectionDictionary("BACKUP"), "ADDRESS", backup->mgmt_address.str());
    }
}

TemplateDictionary* add_virtual(TemplateDictionary& dict, const Cluster& c, Family family,
                                const std::function<void(TemplateDictionary*, const Server&,
                                                         const IpAddress&)>& per_server = {}) {
    auto* v = dict.AddSectionDictionary("VIRTUAL");
    const bool v4 = family == Family::inet;
    set(v, "VIRTUAL_NAME", c.name + (v4 ? "-v4" : "-v6"));
    set(v, "FAMILY", std::string(to_string(family)));
    if (!v4) {
        v->ShowSection("IPV6");
    }
    // FWMARK, PORT, SCHEDULER, ... need no copy here: ctemplate looks variables up in the
    // enclosing dictionaries.
    if (c.persistence > 0) {
        set(v->AddSectionDictionary("PERSISTENT"), "SECONDS", c.persistence);
    }
    if (c.load_monitor) {
        set(v->AddSectionDictionary("LOAD_MONITOR"), "COMMAND", *c.load_monitor);
    }
    if (c.check_send) {
        auto* send = v->AddSectionDictionary("SEND");
        set(send, "TEXT", escape_check_string(*c.check_send));
        set(send, "QUOTE", quote_for(*c.check_send));
    }
    if (c.check_expect) {
        auto* expect = v->AddSectionDictionary("EXPECT");
        set(expect, "TEXT", escape_check_string(*c.check_expect));
        set(expect, "QUOTE", quote_for(*c.check_expect));
    }
    if (c.check_use_regex) {
        v->ShowSection("USE_REGEX");
    }
    if (c.check_program) {
        auto* program = v->AddSectionDictionary("SEND_PROGRAM");
        set(program, "COMMAND", *c.check_program);
        set(program, "QUOTE", quote_for(*c.check_program));
    }
    if (c.quiesce_server) {
        v->ShowSection("QUIESCE_SERVER");
    }
    for (const auto& s : c.servers) {
        const auto* addr = v4 ? &s.address : s.address_v6 ? &*s.address_v6 : nullptr;
        if (addr == nullptr) {
            continue;
        }
        auto* srv = v->AddSectionDictionary("SERVER");
        set(srv, "NAME", s.mgmt_address.str());
        set(srv, "NODE_ID", s.node_id);
        set(srv, "ADDRESS", addr->str());
        set(srv, "ACTIVE", s.active ? 1 : 0);
        set(srv, "WEIGHT", s.weight);
        set(srv, "EFFECTIVE_WEIGHT", s.active ? s.weight : 0);
        if (per_server) {
            per_server(srv, s, *addr);
        }
    }
    return v;
}

std::string forwarding_word(Forwarding f, bool keepalived) {
    switch (f) {
        case Forwarding::route:
            return keepalived ? "DR" : "direct";
        case Forwarding::masq:
            return keepalived ? "NAT" : "nat";
        case Forwarding::tunnel:
            return keepalived ? "TUN" : "tunnel";
    }
    return "direct";
}

// keepalived checks HTTP itself when send is a plain GET; anything else falls back to a TCP
// connect, which is what nanny's check amounts to without a send string.
// An expect string with a status code ("200 OK") checks for that code; "HTTP" for any answer.
//
// The path is the one free text that goes into keepalived.conf, whose parser knows no quoting: a
// newline or a brace there would end the block and start one of its own (a MISC_CHECK runs a
// program as root on every LB). Only a plain request path is written; anything else is refused.
std::string request_path(const Cluster& c, std::string_view send) {
    const auto end = send.find_first_of(" \t\r\n");
    const auto path = send.substr(0, end);
    constexpr std::string_view kAllowed =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?%&=+,;:@$*'()";
    if (path.find_first_not_of(kAllowed) != std::string_view::npos) {
        throw Error(ExitCode::data,
                    fmt::format("h2e_clusters cluster_id={}: column check_send: the request path "
                                "{:?} cannot be written in keepalived.conf (letters, digits and "
                                "-._~/?%&=+,;:@$*'() only)",
                                c.id, std::string(path)));
    }
    return std::string(path);
}

void add_check(TemplateDictionary* server, const Cluster& c, const IpAddress& address) {
    if (c.quiesce_server) {
        server->ShowSection("INHIBIT");
    }
    if (c.check_program) {
        // Validated as a program and words of a safe alphabet (no quote, brace or newline):
        // nothing in it can leave the quoted misc_path.
        if (!is_valid_command_line(*c.check_program)) {
            throw Error(ExitCode::data,
                        fmt::format("h2e_clusters cluster_id={}: column check_program: {:?} "
                                    "cannot be written in keepalived.conf",
                                    c.id, *c.check_program));
        }
        std::string command = *c.check_program;
        for (auto at = command.find("%h"); at != std::string::npos;
             at = command.find("%h", at + 1)) {
            command.replace(at, 2, address.str());
        }
        set(server->AddSectionDictionary("MISC_CHECK"), "COMMAND", command);
        return;
    }
    const std::string prefix = "GET ";
    if (c.check_send && c.check_send->rfind(prefix, 0) == 0) {
        const auto path = request_path(c, std::string_view(*c.check_send).substr(prefix.size()));
        if (!path.empty() && path[0] == '/') {
            auto* http = server->AddSectionDictionary("HTTP_GET");
            set(http, "PATH", path);
            std::string status = "100-599";
            const auto& expect = c.check_expect.value_or("");
            for (std::size_t i = 0; i + 3 <= expect.size(); ++i) {
                const auto code = expect.substr(i, 3);
                const bool digits = std::all_of(code.begin(), code.end(),
                                                [](char ch) { return ch >= '0' && ch <= '9'; });
                const bool alone = (i == 0 || expect[i - 1] == ' ') &&
                                   (i + 3 == expect.size() || expect[i + 3] == ' ');
                if (digits && alone && code[0] >= '1' && code[0] <= '5') {
                    status = code;
                    break;
                }
            }
            set(http, "STATUS", status);
            return;
        }
    }
    server->ShowSection("TCP_CHECK");
}

}  // namespace

std::string Renderer::lvs_cf(const Cluster& c) const {
    TemplateDictionary dict("lvs.cf");
    fill_common(dict, c);
    set(&dict, "NETWORK", forwarding_word(c.forwarding, false));
    // What an imported lvs.cf said beyond the columns, written back as read (docs/migration.md).
    add_settings(dict, "GLOBAL_SETTING", c.lvscf.global);
    const auto per_server = [](TemplateDictionary* srv, const Server& s, const IpAddress&) {
        set(srv, "NAME", s.lvscf_name.value_or(s.mgmt_address.str()));
        add_settings(*srv, "SERVER_SETTING", s.lvscf_settings);
    };
    for (auto family : {Family::inet, Family::inet6}) {
        if (family == Family::inet6 && !c.has_v6_website_ips() && !c.lvscf.ipv6_virtual) {
            break;
        }
        auto* v = add_virtual(dict, c, family, per_server);
        const auto& name = family == Family::inet ? c.lvscf.virtual_name : c.lvscf.virtual_name_v6;
        if (name) {
            set(v, "VIRTUAL_NAME", *name);
        }
        set(v, "VIRTUAL_ACTIVE", c.lvscf.inactive ? 0 : 1);
        if (!c.lvscf.by_address) {
            v->ShowSection("MARK");
        }
        const auto vip = std::find_if(c.website_ips.begin(), c.website_ips.end(),
                                      [&](const IpAddress& ip) { return ip.family() == family; });
        if (c.lvscf.address_device && vip != c.website_ips.end()) {
            auto* address = v->AddSectionDictionary("VIP");
            set(address, "ADDRESS", vip->str());
            set(address, "DEVICE", *c.lvscf.address_device);
        }
        add_settings(*v, "VIRTUAL_SETTING", c.lvscf.virtual_settings);
    }
    return expand(directory_ / "lvs.cf.tpl", dict);
}

std::string Renderer::keepalived(const Cluster& c) const {
    TemplateDictionary dict("keepalived.conf");
    fill_common(dict, c);
    // What keepalived.conf's fwmark services do not say, for parse_keepalived_conf to read back.
    std::vector<std::string> ips;
    for (const auto& ip : c.website_ips) {
        ips.push_back(ip.str());
    }
    set(&dict, "WEBSITE_IPS", fmt::format("{}", fmt::join(ips, " ")));
    set(&dict, "PORTS", fmt::format("{}", fmt::join(c.ports, " ")));
    for (auto family : {Family::inet, Family::inet6}) {
        if (family == Family::inet6 && !c.has_v6_website_ips()) {
            break;
        }
        auto* v = add_virtual(dict, c, family,
                              [&c](TemplateDictionary* server, const Server&,
                                   const IpAddress& address) { add_check(server, c, address); });
        set(v, "LVS_METHOD", forwarding_word(c.forwarding, true));
        set(v, "PROTOCOL_UPPER",
            c.protocol == "tcp"   ? "TCP"
            : c.protocol == "udp" ? "UDP"
                                  : "SCTP");
    }
    return expand(directory_ / "keepalived.conf.tpl", dict);
}

std::string Renderer::keepalived_vrrp(const Cluster& c, const LoadBalancer& lb,
                                      const std::vector<IpAddress>& website_ips,
                                      const VrrpOptions& options) const {
    TemplateDictionary dict("keepalived-vrrp.conf");
    set(&dict, "NAME", c.name);
    set(&dict, "CLUSTER_ID", c.id);
    set(&dict, "SERIAL", c.serial);
    set(&dict, "ROLE", std::string(to_string(lb.role)));
    set(&dict, "INSTANCE_NAME", fmt::format("lvsctl_{}", c.id));
    set(&dict, "INTERFACE", lb.vip_interface);
    set(&dict, "ROUTER_ID", c.router_id());
    set(&dict, "ADVERT_INT", c.vrrp_advert_int);
    const bool primary = lb.role == Role::primary;
    // nopreempt works only from BACKUP: then the priorities alone say who starts as MASTER.
    set(&dict, "STATE", primary && !options.nopreempt ? "MASTER" : "BACKUP");
    set(&dict, "PRIORITY", primary ? 150 : 100);
    set(&dict, "SELF", lb.mgmt_address.str());
    const auto* peer = primary ? c.backup() : c.primary();
    set(&dict, "PEER", peer != nullptr ? peer->mgmt_address.str() : std::string());
    set(&dict, "NOTIFY", options.notify);
    if (options.nopreempt) {
        dict.ShowSection("NOPREEMPT");
    }
    if (options.unicast) {
        dict.ShowSection("UNICAST");
    }
    if (!website_ips.empty()) {
        auto* instance = dict.AddSectionDictionary("INSTANCE");
        for (std::size_t i = 0; i < website_ips.size(); ++i) {
            auto* ip = instance->AddSectionDictionary(i == 0 ? "FIRST_IP" : "WEBSITE_IP");
            set(ip, "ADDRESS", website_ips[i].str());
            set(ip, "PREFIX", website_ips[i].host_prefix());
        }
    }
    return expand(directory_ / "keepalived-vrrp.conf.tpl", dict);
}

std::filesystem::path default_directory(const std::filesystem::path& program) {
    return program.parent_path().parent_path() / "share" / "lvsctl" / "templates";
}

}  // namespace lvsctl::templates
