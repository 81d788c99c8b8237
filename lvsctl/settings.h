// The global options (docs/commands.md), and the config file that can set them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lvsctl {

struct Settings {
    std::optional<std::string> db;  // libpq conninfo; never printed, it may hold a password
    std::string ssh_user = "root";
    std::optional<std::string> ssh_identity;
    std::string known_hosts = "~/.ssh/known_hosts";
    std::optional<std::string> templates;
    std::string agent = "lvsctl";
    int timeout = 30;
    int parallel = 16;
    int lock_timeout = 60;
    bool json = false;
    // The VRRP keepalived.conf (docs/ha.md): a primary that comes back does not take over;
    // adverts go to the peer LB's mgmt_address instead of multicast.
    bool vrrp_nopreempt = false;
    bool vrrp_unicast = false;
    int verbosity = 0;  // -v adds one, -q takes one away
};

// The keys the config file may set: the long option names without the dashes, and the values
// the parser takes for each. lvsctl.conf(5) is generated from this table and from the options'
// descriptions (`lvsctl generate conf-man`).
enum class ConfigValue { text, number, boolean };
struct ConfigKey {
    std::string_view name;
    ConfigValue value = ConfigValue::text;
    int max = 0;  // number: a whole number from 1 to max
};
const std::vector<ConfigKey>& config_key_table();
const std::vector<std::string_view>& config_keys();  // the names of config_key_table()

struct ConfigEntry {
    std::size_t line = 0;
    std::string key;
    std::string value;
};

// Section-less `key = value` lines; blank lines and lines starting with '#' or ';' are
// skipped; a value may be double-quoted. Throws Error(ExitCode::config) naming the line.
std::vector<ConfigEntry> parse_config(std::string_view text, std::string_view source);

// Whether a libpq connection string (key=value or URI) carries a password.
bool has_password(std::string_view conninfo);

// Sets one entry, checking its value. Throws Error(ExitCode::config) naming source and line.
void apply_config_entry(Settings& settings, const ConfigEntry& entry, std::string_view source);

}  // namespace lvsctl
