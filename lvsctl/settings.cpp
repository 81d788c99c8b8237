#include "lvsctl/settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl {

const std::vector<ConfigKey>& config_key_table() {
    static const std::vector<ConfigKey> table = {
        {"db", ConfigValue::text, 0},
        {"ssh-user", ConfigValue::text, 0},
        {"ssh-identity", ConfigValue::text, 0},
        {"known-hosts", ConfigValue::text, 0},
        {"templates", ConfigValue::text, 0},
        {"agent", ConfigValue::text, 0},
        {"timeout", ConfigValue::number, 86400},
        {"parallel", ConfigValue::number, 4096},
        {"lock-timeout", ConfigValue::number, 86400},
        {"json", ConfigValue::boolean, 0},
        {"vrrp-nopreempt", ConfigValue::boolean, 0},
        {"vrrp-unicast", ConfigValue::boolean, 0},
    };
    return table;
}

const std::vector<std::string_view>& config_keys() {
    static const std::vector<std::string_view> keys = [] {
        std::vector<std::string_view> names;
        for (const auto& key : config_key_table()) {
            names.push_back(key.name);
        }
        return names;
    }();
    return keys;
}

namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

[[noreturn]] void fail(std::string_view source, std::size_t line, const std::string& why) {
    throw Error(ExitCode::config, fmt::format("config {} line {}: {}", source, line, why));
}

// A number key's value: 1 to the table's max for it.
int positive(std::string_view source, const ConfigEntry& e) {
    int max = 0;
    for (const auto& key : config_key_table()) {
        if (key.name == e.key) {
            max = key.max;
        }
    }
    int n = 0;
    const auto* end = e.value.data() + e.value.size();
    auto [ptr, ec] = std::from_chars(e.value.data(), end, n);
    if (ec != std::errc() || ptr != end || n < 1 || n > max) {
        fail(source, e.line,
             fmt::format("{} = {:?}: expected a whole number from 1 to {}", e.key, e.value, max));
    }
    return n;
}

}  // namespace

std::vector<ConfigEntry> parse_config(std::string_view text, std::string_view source) {
    std::vector<ConfigEntry> entries;
    std::set<std::string, std::less<>> seen;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto end = std::min(text.find('\n', pos), text.size());
        const auto line = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line[0] == '[') {
            fail(source, line_no, "sections are not used; write `key = value` lines only");
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            fail(source, line_no, "expected `key = value`");
        }
        const auto key = trim(line.substr(0, eq));
        auto value = trim(line.substr(eq + 1));
        const auto& keys = config_keys();
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            fail(source, line_no, fmt::format("unknown key {:?}", std::string(key)));
        }
        if (!seen.insert(std::string(key)).second) {
            fail(source, line_no, fmt::format("{} is set twice", key));
        }
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        } else if (value.find('"') != std::string_view::npos) {
            fail(source, line_no, fmt::format("{}: unbalanced quote", key));
        }
        entries.push_back({line_no, std::string(key), std::string(value)});
    }
    return entries;
}

void apply_config_entry(Settings& s, const ConfigEntry& e, std::string_view source) {
    auto text = [&]() -> const std::string& {
        if (e.value.empty()) {
            fail(source, e.line, fmt::format("{} has no value", e.key));
        }
        return e.value;
    };
    if (e.key == "db") {
        s.db = text();
    } else if (e.key == "ssh-user") {
        s.ssh_user = text();
    } else if (e.key == "ssh-identity") {
        s.ssh_identity = text();
    } else if (e.key == "known-hosts") {
        s.known_hosts = text();
    } else if (e.key == "templates") {
        s.templates = text();
    } else if (e.key == "agent") {
        s.agent = text();
        if (!is_valid_command_path(s.agent) && !is_valid_program_name(s.agent)) {
            fail(source, e.line, "agent: not a program name or an absolute path");
        }
    } else if (e.key == "timeout") {
        s.timeout = positive(source, e);
    } else if (e.key == "parallel") {
        s.parallel = positive(source, e);
    } else if (e.key == "lock-timeout") {
        s.lock_timeout = positive(source, e);
    } else if (e.key == "json" || e.key == "vrrp-nopreempt" || e.key == "vrrp-unicast") {
        bool& flag = e.key == "json"             ? s.json
                     : e.key == "vrrp-nopreempt" ? s.vrrp_nopreempt
                                                 : s.vrrp_unicast;
        if (e.value == "true" || e.value == "1") {
            flag = true;
        } else if (e.value == "false" || e.value == "0") {
            flag = false;
        } else {
            fail(source, e.line, fmt::format("{} = {:?}: expected true or false", e.key, e.value));
        }
    } else {
        fail(source, e.line, fmt::format("unknown key {:?}", e.key));
    }
}

bool has_password(std::string_view conninfo) {
    const auto scheme = conninfo.find("://");
    if (conninfo.starts_with("postgres") && scheme != std::string_view::npos) {
        auto rest = conninfo.substr(scheme + 3);
        const auto authority = rest.substr(0, rest.find_first_of("/?"));
        const auto at = authority.rfind('@');
        if (at != std::string_view::npos &&
            authority.substr(0, at).find(':') != std::string_view::npos) {
            return true;  // user:password@host
        }
        const auto query = rest.find('?');
        if (query == std::string_view::npos) {
            return false;
        }
        for (auto params = rest.substr(query + 1); !params.empty();) {
            const auto amp = params.find('&');
            if (params.substr(0, amp).starts_with("password=")) {
                return true;
            }
            params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
        }
        return false;
    }
    // keyword = value pairs; a value may be single-quoted, with backslash escapes.
    std::size_t i = 0;
    auto space = [&] {
        while (i < conninfo.size() && std::isspace(static_cast<unsigned char>(conninfo[i])) != 0) {
            ++i;
        }
    };
    while (i < conninfo.size()) {
        space();
        const auto start = i;
        while (i < conninfo.size() && conninfo[i] != '=' &&
               std::isspace(static_cast<unsigned char>(conninfo[i])) == 0) {
            ++i;
        }
        const auto keyword = conninfo.substr(start, i - start);
        space();
        if (i < conninfo.size() && conninfo[i] == '=') {
            ++i;
        }
        space();
        if (keyword == "password") {
            return true;
        }
        if (i < conninfo.size() && conninfo[i] == '\'') {
            for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i) {
                if (conninfo[i] == '\\') {
                    ++i;
                }
            }
            ++i;
        } else {
            while (i < conninfo.size() &&
                   std::isspace(static_cast<unsigned char>(conninfo[i])) == 0) {
                ++i;
            }
        }
    }
    return false;
}

}  // namespace lvsctl
