// The public API (include/lvsctl/lvsctl.h) over the engine: internal types in, plain values out,
// every internal exception turned into api::Error with its exit code.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "lvsctl/api/engine.h"
#include "lvsctl/api/import_hints.h"
#include "lvsctl/import.h"
#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/lvscf.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/validate.h"

#ifndef LVSCTL_TEMPLATES_DIR
#error "LVSCTL_TEMPLATES_DIR: the installed templates' directory (lvsctl/api/CMakeLists.txt)"
#endif

namespace lvsctl::api {

Error::Error(int exit_code, const std::string& message)
    : std::runtime_error(message), exit_code_(exit_code) {}

int Error::exit_code() const noexcept {
    return exit_code_;
}

namespace {

// Runs `fn`, turning what the engine throws into api::Error: an lvsctl::Error keeps its code and
// message; anything else is an internal error (70), with the message the CLI prints for it.
template <typename Fn>
auto translated(Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const api::Error&) {
        throw;
    } catch (const lvsctl::Error& e) {
        throw api::Error(static_cast<int>(e.code()), e.what());
    } catch (const std::exception& e) {
        throw api::Error(exit_code::internal, fmt::format("internal error: {}", e.what()));
    }
}

// The engine's Progress as the API's callback.
class CallbackProgress : public lvsctl::Progress {
  public:
    explicit CallbackProgress(const api::Progress& callback) : callback_(callback) {}
    void begin(std::string_view phase, std::size_t total) override {
        callback_({ProgressEvent::Kind::begin, std::string(phase), total, false});
    }
    void done(bool failed) override { callback_({ProgressEvent::Kind::done, {}, 0, failed}); }
    void end() override { callback_({ProgressEvent::Kind::end, {}, 0, false}); }

  private:
    const api::Progress& callback_;
};

std::string ip_list(const std::vector<IpAddress>& ips) {
    std::string text;
    for (const auto& ip : ips) {
        text += (text.empty() ? "" : " ") + ip.str();
    }
    return text.empty() ? std::string("none") : text;
}

// The monitor's line, then one line per real server: its state, the kernel's and the
// database's weight, its last check.
void print_monitor(std::string& out, const lvsctl::HostStatus& h) {
    out += fmt::format("  monitor: {}\n", monitor_summary(h.monitor));
    if (h.real_servers.empty()) {
        return;
    }
    out += fmt::format("  {:<40} {:<12} {:>6} {:>10}  {}\n", "real server", "state", "weight",
                       "configured", "last check");
    auto number = [](const std::optional<std::uint32_t>& n) {
        return n ? std::to_string(*n) : std::string("-");
    };
    for (const auto& r : h.real_servers) {
        std::string check = "-";
        if (r.health && r.checked_ago) {
            check = r.health->last_ok
                        ? fmt::format("{} s ago: ok in {} ms", *r.checked_ago, r.health->latency_ms)
                        : fmt::format("{} s ago: {}", *r.checked_ago, r.health->why);
        }
        out += fmt::format("  {:<40} {:<12} {:>6} {:>10}  {}\n", r.address.str(), r.state,
                           number(r.weight), number(r.configured), check);
    }
}

// What `status` prints under a host it read.
std::string status_text(const lvsctl::HostStatus& h, TableLayout layout) {
    std::string out;
    if (h.table) {
        out += ipvsadm_table(*h.table, layout);
    }
    if (h.ha) {
        out += fmt::format("  vrrp: {}\n", ha_summary(*h.ha));
    }
    if (h.monitored) {
        print_monitor(out, h);
    }
    out += fmt::format("  website IPs on {}: present {}; missing {}\n", h.interface,
                       ip_list(h.present), ip_list(h.missing));
    if (h.drift.empty()) {
        out += "  drift from the database: none\n";
    } else {
        out += "  drift from the database (update would):\n";
        for (const auto& d : h.drift) {
            out += fmt::format("    {}\n", d);
        }
    }
    return out;
}

}  // namespace

Options load_options(const std::string& config_path, bool must_exist) {
    return translated([&] {
        Settings settings;
        std::ifstream in(config_path, std::ios::binary);
        if (in) {
            std::ostringstream text;
            text << in.rdbuf();
            if (in.bad()) {
                throw lvsctl::Error(ExitCode::config,
                                    fmt::format("config {}: cannot be read", config_path));
            }
            for (const auto& entry : parse_config(text.str(), config_path)) {
                apply_config_entry(settings, entry, config_path);
            }
        } else if (must_exist) {
            throw lvsctl::Error(ExitCode::config,
                                fmt::format("config {}: cannot be opened", config_path));
        }
        if (const char* env = std::getenv("LVSCTL_DB"); env != nullptr && *env != '\0') {
            settings.db = env;
        }
        return engine::options_of(settings);
    });
}

Imported read_import(const std::string& text, const ImportOptions& o) {
    const auto hints = engine::import_hints(o.servers);
    if (o.format == "lvscf") {
        return parse_lvs_cf(text, o.source, hints);
    }
    if (o.format == "keepalived") {
        return parse_keepalived_conf(text, o.source, hints);
    }
    if (o.format == "ipvsadm") {
        return parse_ipvsadm_save(text, o.source, hints);
    }
    throw lvsctl::Error(ExitCode::usage, fmt::format("import: unknown --format {:?}", o.format));
}

// `--primary` / `--backup`: the LBs a file does not name (keepalived.conf and ipvsadm run on the
// LB itself) or names otherwise.
void set_load_balancer(Cluster& c, Role role, const std::string& text) {
    if (text.empty()) {
        return;
    }
    const auto ip = IpAddress::parse(text);
    if (!ip) {
        throw lvsctl::Error(ExitCode::usage,
                            fmt::format("--{} {}: not an IP address", to_string(role), text));
    }
    auto& lbs = c.load_balancers;
    const auto it = std::find_if(lbs.begin(), lbs.end(),
                                 [&](const LoadBalancer& lb) { return lb.role == role; });
    if (it != lbs.end()) {
        it->mgmt_address = *ip;
    } else {
        lbs.push_back({role, *ip, 22, "eth1"});
    }
    std::stable_sort(lbs.begin(), lbs.end(), [](const LoadBalancer& a, const LoadBalancer& b) {
        return a.role == Role::primary && b.role != Role::primary;
    });
}

// What the ipvs backend cannot do that the file asks of its LBs: pulse raises the NAT router's
// address; lvsctl's agent does not (docs/migration.md).
void refuse_for_backend(const Cluster& c, const std::string& backend, const std::string& file) {
    const auto spec = parse_backend(backend);
    if (!spec || spec->kind != BackendKind::ipvs) {
        return;
    }
    for (const auto& s : c.lvscf.global) {
        if (s.key == "nat_router" && c.forwarding == Forwarding::masq) {
            throw lvsctl::Error(
                ExitCode::data,
                fmt::format("{}: nat_router = {}: the web servers' NAT gateway is pulse's "
                            "to raise, and lvsctl's ipvs backend does not; import with "
                            "--backend=piranha, or raise the router address otherwise "
                            "and remove the line",
                            file, s.value));
        }
    }
}

// An address given to a hook, in `family` when one is asked for. Throws Error(ExitCode::usage).
IpAddress address_of(const std::string& what, const std::string& text,
                     std::optional<Family> family = std::nullopt) {
    const auto ip = IpAddress::parse(text);
    if (!ip || (family && ip->family() != *family)) {
        throw lvsctl::Error(ExitCode::usage, fmt::format("{} {:?}: not an {} address", what, text,
                                                         family == Family::inet    ? "IPv4"
                                                         : family == Family::inet6 ? "IPv6"
                                                                                   : "IP"));
    }
    return *ip;
}

struct Connection::Impl {
    Options options;
    engine::Runtime runtime;
    std::optional<db::Database> shared;  // plan, render, status, clusters: connected when needed

    Impl(const Options& o, engine::Runtime r) : options(o), runtime(std::move(r)) {}

    db::Database& database() {
        if (!shared) {
            shared.emplace(runtime.settings.db);
        }
        return *shared;
    }

    // One run of the engine, its progress told to Options::progress when there is one.
    Result run(db::Database& session, engine::ConvergeOptions c) {
        std::optional<CallbackProgress> progress;
        if (options.progress) {
            progress.emplace(options.progress);
        }
        c.progress = progress ? &*progress : nullptr;
        return engine::result_of(engine::run_converge(runtime, session, c), c.dry_run);
    }

    Result converge(db::Database& session, std::int64_t cluster_id, const UpdateOptions& u) {
        engine::ConvergeOptions c;
        c.cluster_id = cluster_id;
        c.dry_run = u.dry_run;
        c.detailed_exitcode = u.detailed_exitcode;
        c.drain_timeout = static_cast<std::uint32_t>(u.drain_timeout);
        return run(session, c);
    }

    // A hook: the cluster's lock on a session of its own, `write` (which returns what it
    // changed), then the update unless no_update (of the LBs only with lbs_only).
    template <typename Write>
    HookResult hook(std::int64_t cluster_id, const HookOptions& o, bool lbs_only, Write&& write) {
        db::Database session(runtime.settings.db);
        session.lock_cluster(cluster_id, std::chrono::seconds(runtime.settings.lock_timeout));
        const std::string what = write(session);
        if (o.no_update) {
            return engine::not_updated(what);
        }
        HookResult h;
        h.what = what;
        engine::ConvergeOptions c;
        c.cluster_id = cluster_id;
        c.note = h.what;
        c.lbs_only = lbs_only;
        h.update = run(session, c);
        h.exit_code = h.update->exit_code;
        return h;
    }

    HookResult ips(std::int64_t cluster_id, const std::vector<std::string>& texts,
                   const HookOptions& o, bool add) {
        std::vector<IpAddress> list;
        for (const auto& text : texts) {
            list.push_back(address_of("website IP", text));
        }
        return hook(cluster_id, o, false, [&](db::Database& session) {
            const int changed =
                add ? session.add_ips(cluster_id, list) : session.remove_ips(cluster_id, list);
            return fmt::format("h2e_cluster_ips cluster_id={}: {} {} of {} website IP(s)",
                               cluster_id, add ? "added" : "removed", changed, list.size());
        });
    }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Connection Connection::open(const Options& options) {
    return translated([&] {
        engine::Runtime runtime;
        runtime.settings = engine::settings_of(options);
        runtime.templates = options.templates ? std::filesystem::path(*options.templates)
                                              : std::filesystem::path(LVSCTL_TEMPLATES_DIR);
        return Connection(std::make_unique<Impl>(options, std::move(runtime)));
    });
}

std::vector<ClusterInfo> Connection::clusters() {
    return translated([&] {
        std::vector<ClusterInfo> out;
        for (auto& c : impl_->database().list_clusters()) {
            out.push_back({c.id, std::move(c.name)});
        }
        return out;
    });
}

std::vector<ServerInfo> Connection::servers(std::int64_t cluster_id) {
    return translated([&] {
        std::vector<ServerInfo> out;
        for (const auto& s : impl_->database().read_cluster(cluster_id).servers) {
            ServerInfo i;
            i.node_id = s.node_id;
            i.address = s.address.str();
            if (s.address_v6) {
                i.address_v6 = s.address_v6->str();
            }
            i.mgmt_address = s.mgmt_address.str();
            i.ssh_port = s.ssh_port;
            i.weight = s.weight;
            i.active = s.active;
            out.push_back(std::move(i));
        }
        return out;
    });
}

AllResult Connection::update_all(const AllOptions& options) {
    return translated([&] { return engine::update_all(impl_->runtime, options); });
}

Result Connection::plan(std::int64_t cluster_id, const PlanOptions& options) {
    return translated([&] {
        UpdateOptions u;
        u.dry_run = true;
        u.detailed_exitcode = options.detailed_exitcode;
        return impl_->converge(impl_->database(), cluster_id, u);
    });
}

Result Connection::update(std::int64_t cluster_id, const UpdateOptions& options) {
    return translated([&] {
        if (options.dry_run) {
            return impl_->converge(impl_->database(), cluster_id, options);
        }
        // The lock lasts as long as its session: a session of the run's own, so that it is
        // released when the call returns.
        db::Database session(impl_->runtime.settings.db);
        session.lock_cluster(cluster_id,
                             std::chrono::seconds(impl_->runtime.settings.lock_timeout));
        return impl_->converge(session, cluster_id, options);
    });
}

Rendered Connection::render(std::int64_t cluster_id, const std::string& format,
                            const std::string& role) {
    return translated([&] {
        auto cluster = impl_->database().read_cluster(cluster_id);
        validate_or_throw(cluster);
        Rendered r;
        r.cluster_id = cluster.id;
        r.cluster_name = cluster.name;
        r.format = format;
        r.content = engine::render_cluster(impl_->runtime, cluster, format, role);
        return r;
    });
}

StatusResult Connection::status(std::int64_t cluster_id, const std::string& layout) {
    return translated([&] {
        const auto table =
            layout == "list"    ? TableLayout::list
            : layout == "stats" ? TableLayout::stats
            : layout == "rate"
                ? TableLayout::rate
                : throw lvsctl::Error(
                      ExitCode::usage,
                      fmt::format("status: layout {:?}: list, stats or rate", layout));
        auto cluster = impl_->database().read_cluster(cluster_id);
        validate_or_throw(cluster);
        auto env = engine::environment(impl_->runtime, "", "");
        std::optional<CallbackProgress> progress;
        if (impl_->options.progress) {
            progress.emplace(impl_->options.progress);
        }
        const auto hosts =
            gather_status(cluster, *env, static_cast<std::size_t>(impl_->runtime.settings.parallel),
                          progress ? &*progress : nullptr);
        StatusResult r;
        r.cluster_id = cluster.id;
        r.document = status_document(cluster, hosts);
        for (const auto& h : hosts) {
            HostStatus s;
            s.host = h.host;
            s.error = h.error;
            if (h.error) {
                r.exit_code = exit_code::partial;
            } else {
                s.text = status_text(h, table);
            }
            r.hosts.push_back(std::move(s));
        }
        return r;
    });
}

HookResult Connection::add_server(std::int64_t cluster_id, const NewServer& server,
                                  const HookOptions& options) {
    return translated([&] {
        db::Database::NewServer s;
        s.node_id = server.node_id;
        s.mgmt_address = address_of("mgmt_address", server.mgmt_address);
        s.address = address_of("address", server.address, Family::inet);
        if (server.address_v6) {
            s.address_v6 = address_of("address_v6", *server.address_v6, Family::inet6);
        }
        s.weight = server.weight;
        return impl_->hook(cluster_id, options, false, [&](db::Database& session) {
            session.add_server(cluster_id, s);
            return fmt::format("apache_h2e_nodes node_id={}: added to cluster {}", s.node_id,
                               cluster_id);
        });
    });
}

HookResult Connection::set_server(std::int64_t cluster_id, std::int64_t node_id,
                                  std::optional<int> weight, std::optional<bool> active,
                                  const HookOptions& options) {
    return translated([&] {
        const auto w = weight ? std::optional<std::int64_t>(*weight) : std::nullopt;
        // A weight or activity matters to the LBs alone (docs/commands.md, "Hooks").
        return impl_->hook(cluster_id, options, true, [&](db::Database& session) {
            session.set_server(cluster_id, node_id, w, active);
            return fmt::format("apache_h2e_nodes node_id={}: set{}{}", node_id,
                               w ? fmt::format(" weight={}", *w) : "",
                               active ? fmt::format(" active={}", *active) : "");
        });
    });
}

HookResult Connection::remove_server(std::int64_t cluster_id, std::int64_t node_id,
                                     const RemoveServerOptions& options) {
    return translated([&] {
        db::Database session(impl_->runtime.settings.db);
        session.lock_cluster(cluster_id,
                             std::chrono::seconds(impl_->runtime.settings.lock_timeout));
        const auto removed = fmt::format("apache_h2e_nodes node_id={}: removed from cluster {}",
                                         node_id, cluster_id);
        if (options.no_update) {
            session.remove_server(cluster_id, node_id);
            return engine::not_updated(removed);
        }
        // docs/commands.md, "Hooks": drain, remove from IPVS, then from the database, then clean
        // its website IPs.
        auto cluster = session.read_cluster(cluster_id);
        const auto it = std::find_if(cluster.servers.begin(), cluster.servers.end(),
                                     [&](const Server& s) { return s.node_id == node_id; });
        if (it == cluster.servers.end()) {
            session.remove_server(cluster_id, node_id);  // throws: names the missing row
            HookResult gone;
            gone.what = removed;
            gone.removed = removed;
            return gone;
        }
        const Server leaving = *it;
        cluster.servers.erase(it);
        HookResult h;
        h.what = fmt::format("apache_h2e_nodes node_id={}: draining, then removing", node_id);
        engine::ConvergeOptions c;
        c.cluster_id = cluster_id;
        c.cluster = cluster;
        c.drain_timeout = static_cast<std::uint32_t>(options.drain_timeout);
        c.note = h.what;
        h.update = impl_->run(session, c);
        h.exit_code = h.update->exit_code;
        if (h.exit_code != exit_code::ok) {
            h.update->errors.push_back(
                fmt::format("node_id={} stays in the database: the LBs did not all let it go; "
                            "run the hook again",
                            node_id));
            return h;
        }
        session.remove_server(cluster_id, node_id);
        h.removed = removed;
        h.cleanup = engine::clean_web_server(impl_->runtime, leaving, cluster_id);
        h.exit_code = h.cleanup->exit_code;
        return h;
    });
}

HookResult Connection::import_config(std::int64_t cluster_id, const std::string& text,
                                     const ImportOptions& options) {
    return translated([&] {
        auto parsed = read_import(text, options);
        auto& cluster = parsed.cluster;
        cluster.id = cluster_id;
        set_load_balancer(cluster, Role::primary, options.primary);
        set_load_balancer(cluster, Role::backup, options.backup);
        if (options.warning) {
            for (const auto& note : parsed.warnings) {
                options.warning(note);
            }
        }
        cluster.backend = options.backend;
        HookOptions hook;
        hook.no_update = options.no_update;
        return impl_->hook(cluster_id, hook, false, [&](db::Database& session) {
            const auto effective = !options.backend.empty()
                                       ? options.backend
                                       : session.cluster_backend(cluster_id).value_or("ipvs");
            refuse_for_backend(cluster, effective, options.source);
            std::string what;
            for (const auto& line : session.import_cluster(cluster_id, cluster)) {
                what += (what.empty() ? "" : "\n") + line;
            }
            return what;
        });
    });
}

HookResult Connection::add_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                               const HookOptions& options) {
    return translated([&] { return impl_->ips(cluster_id, ips, options, true); });
}

HookResult Connection::remove_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                                  const HookOptions& options) {
    return translated([&] { return impl_->ips(cluster_id, ips, options, false); });
}

}  // namespace lvsctl::api
