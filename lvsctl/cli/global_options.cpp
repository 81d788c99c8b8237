#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lvsctl/cli/app.h"
#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl::cli {

GlobalOptions::GlobalOptions(CLI::App& app, Settings& s) : app_(app), settings_(s) {
    config_ = app.add_option("--config", config_path_, "Config file (key = value lines)")
                  ->type_name("FILE")
                  ->default_str(config_path_);
    app.add_option("--db", s.db, "libpq connection string or URI (else env LVSCTL_DB, PG*)")
        ->type_name("CONNINFO");
    app.add_option("--ssh-user", s.ssh_user, "User for SSH to LBs and web servers")
        ->type_name("USER")
        ->default_str(s.ssh_user);
    app.add_option("--ssh-identity", s.ssh_identity, "SSH private key")->type_name("FILE");
    app.add_option("--known-hosts", s.known_hosts, "known_hosts for strict host-key checking")
        ->type_name("FILE")
        ->default_str(s.known_hosts);
    app.add_option("--templates", s.templates, "Template directory")->type_name("DIR");
    app.add_option("--agent", s.agent, "lvsctl program on the LBs")
        ->type_name("PATH")
        ->default_str(s.agent);
    app.add_option("--timeout", s.timeout, "SSH connect and per-command timeout, seconds")
        ->check(CLI::Range(1, 86400))
        ->default_str(std::to_string(s.timeout));
    app.add_option("--parallel", s.parallel, "Hosts contacted at once")
        ->check(CLI::Range(1, 4096))
        ->default_str(std::to_string(s.parallel));
    app.add_option("--lock-timeout", s.lock_timeout, "Seconds to wait for the cluster lock")
        ->check(CLI::Range(1, 86400))
        ->default_str(std::to_string(s.lock_timeout));
    app.add_flag("--json", s.json, "Machine-readable output on stdout (one JSON document)");
    app.add_flag("--vrrp-nopreempt", s.vrrp_nopreempt,
                 "VRRP: a primary LB that comes back does not take over (docs/ha.md)");
    app.add_flag("--vrrp-unicast", s.vrrp_unicast,
                 "VRRP: adverts to the peer LB's mgmt_address instead of multicast");
    app.add_flag("-v,--verbose", verbose_, "More logging on stderr");
    app.add_flag("-q,--quiet", quiet_, "Less logging on stderr");
}

void GlobalOptions::merge() const {
    settings_.verbosity = verbose_ - quiet_;
    const bool explicit_config = config_->count() > 0;
    std::ifstream in(config_path_, std::ios::binary);
    std::vector<ConfigEntry> entries;
    if (in) {
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) {
            throw Error(ExitCode::config, fmt::format("config {}: cannot be read", config_path_));
        }
        entries = parse_config(text.str(), config_path_);
    } else if (explicit_config) {
        throw Error(ExitCode::config, fmt::format("config {}: cannot be opened", config_path_));
    }
    for (const auto& entry : entries) {
        const auto* flag = app_.get_option_no_throw("--" + entry.key);
        if (flag == nullptr || flag->count() == 0) {
            apply_config_entry(settings_, entry, config_path_);
        }
    }
    if (!is_valid_command_path(settings_.agent) && !is_valid_program_name(settings_.agent)) {
        throw Error(ExitCode::usage,
                    fmt::format("--agent {:?}: not a program name or an absolute path of letters, "
                                "digits and _ . / + -",
                                settings_.agent));
    }
    // A password on the command line is seen by every user of the machine (ps, /proc).
    if (app_.get_option("--db")->count() > 0 && settings_.db && has_password(*settings_.db)) {
        throw Error(ExitCode::usage,
                    "--db: a password on the command line can be read by every user of this "
                    "machine; put it in ~/.pgpass (or PGPASSFILE), or give the connection string "
                    "in LVSCTL_DB or the config file's db");
    }
    // The environment sits between the flag and the file: a one-off LVSCTL_DB=... beats the
    // machine-wide configuration.
    if (app_.get_option("--db")->count() == 0) {
        if (const char* env = std::getenv("LVSCTL_DB"); env != nullptr && *env != '\0') {
            settings_.db = env;
        }
    }
}

}  // namespace lvsctl::cli
