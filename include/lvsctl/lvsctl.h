/// \file lvsctl/lvsctl.h
/// lvsctl's public API (docs/library.md): what the `lvsctl` program does with a cluster, from
/// your own program. The CLI's plan, update (one cluster or --all), render, status, import and
/// hooks run through these same calls.
///
/// Only this header and export.h are public; they name no internal type and no third-party
/// library. Every type is a plain value (public fields, std::string, std::vector, std::optional,
/// std::int64_t) so that bindings (pybind11) wrap them as they are. Every failure is an
/// lvsctl::api::Error carrying the exit code the CLI would give (docs/commands.md, "Exit codes").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lvsctl/export.h"

/// \namespace lvsctl
/// lvsctl: Linux Virtual Server load balancers kept in step with a database.

/// The public API: the calls of Connection, the options they take and the plain values they
/// return.
namespace lvsctl::api {

/// The exit codes of docs/commands.md, as Error::exit_code() and Result::exit_code give them.
namespace exit_code {
inline constexpr int ok = 0;               ///< success: converged, nothing to do, or answered
inline constexpr int changes_pending = 2;  ///< plan / update --dry-run with detailed_exitcode
inline constexpr int partial = 3;          ///< some host failed; the others were handled
inline constexpr int usage = 64;           ///< a bad argument, as a bad command line would be
inline constexpr int data = 65;            ///< invalid data (database, input file); nothing changed
inline constexpr int unreachable = 68;     ///< a host could not be reached before any change
inline constexpr int db_unavailable = 69;  ///< the database could not be reached, or has no schema
inline constexpr int internal = 70;        ///< a bug, or a statement the database refused
inline constexpr int kernel = 71;          ///< an LB's kernel or firewall tool refused an operation
inline constexpr int lock_busy = 75;       ///< the cluster's lock stayed taken for lock_timeout
inline constexpr int permission = 77;      ///< a host refused us (host key, authentication, root)
inline constexpr int config = 78;          ///< a bad config file, a missing or broken template
}  // namespace exit_code

/// Every failure of a call: the message the CLI prints after "lvsctl: ", and its exit code.
class LVSCTL_API Error : public std::runtime_error {
  public:
    /// A failure with the CLI's exit code (one of exit_code) and its message.
    Error(int exit_code, const std::string& message);
    /// The exit code the CLI would give for this failure (one of exit_code).
    int exit_code() const noexcept;

  private:
    int exit_code_;
};

/// A run's progress (docs/commands.md, "Progress"): a phase begins over `total` hosts, then each
/// host is done (failed or not), and the run ends. Called from the run's worker threads: the
/// callback must be thread-safe, and must not throw.
struct ProgressEvent {
    /// What happened.
    enum class Kind {
        begin,  ///< a phase begins over `total` hosts
        done,   ///< a host is done, `failed` or not
        end     ///< the run ends
    };
    Kind kind = Kind::begin;  ///< what happened
    std::string phase;        ///< begin: "reading hosts", "LBs: applying", ...
    std::size_t total = 0;    ///< begin: how many hosts
    bool failed = false;      ///< done: whether the host failed
};
/// The callback told of a run's progress (Options::progress).
using Progress = std::function<void(const ProgressEvent&)>;

/// The CLI's global options (docs/commands.md, "Global options"), with their defaults.
struct Options {
    std::optional<std::string> db;  ///< libpq conninfo or URI; empty: libpq's PG* defaults
    std::string ssh_user = "root";  ///< the user lvsctl logs in as on every host
    std::optional<std::string> ssh_identity;  ///< the SSH private key; empty: libssh's defaults
    std::string known_hosts = "~/.ssh/known_hosts";  ///< the hosts' keys, checked strictly
    /// The templates' directory; empty: the one installed with the library
    /// (PREFIX/share/lvsctl/templates).
    std::optional<std::string> templates;
    std::string agent = "lvsctl";  ///< the program run on the LBs
    int timeout = 30;              ///< seconds: SSH and remote commands; the database's statements
    int parallel = 16;             ///< hosts at once
    int lock_timeout = 60;         ///< seconds update waits for the cluster's lock
    bool vrrp_nopreempt = false;   ///< keepalived VRRP: the backup does not take back the VIPs
    bool vrrp_unicast = false;     ///< keepalived VRRP: unicast between the LBs, not multicast
    Progress progress;             ///< told of every run's phases and hosts when set
};

/// Options as the CLI gets them with no flags: the config file's keys (lvsctl.conf(5)) over the
/// defaults, then LVSCTL_DB over the file's db. A missing file is no error unless `must_exist`;
/// a bad one throws Error (78).
/// \param config_path the config file, as the CLI's `--config`
/// \param must_exist  whether a missing file is an error (78), as with `--config` given
/// \return the options, for Connection::open()
/// \throws Error 78: the file is bad (or missing, with `must_exist`)
LVSCTL_API Options load_options(const std::string& config_path = "/etc/lvsctl/lvsctl.conf",
                                bool must_exist = false);

/// A cluster of the database, as clusters() lists it.
struct ClusterInfo {
    std::int64_t id = 0;  ///< the cluster's id (`--cluster-id`)
    std::string name;     ///< its name
};

/// One host of a run: "lb 10.0.0.1" or "web 10.0.0.11".
struct HostResult {
    std::string host;                  ///< "lb 10.0.0.1" or "web 10.0.0.11"
    std::string role;                  ///< "lb" or "web"
    std::vector<std::string> changes;  ///< pending (plan), or done when `applied`
    bool applied = false;              ///< update ran on this host (not a plan)
    std::vector<std::string> errors;   ///< what failed while applying
    std::optional<std::string> error;  ///< the host could not be reached or read
    int exit_code = 0;                 ///< this host's part of the run's exit code
    bool monitored = false;            ///< an LB with a monitor
    std::string monitor;               ///< then: the monitor's summary line
};

/// One run of plan or update of a cluster.
struct Result {
    std::int64_t cluster_id = 0;      ///< the cluster's id
    std::string cluster_name;         ///< its name
    std::string backend;              ///< its backend ("ipvs", "keepalived", ...)
    std::int64_t serial = 0;          ///< the serial of the configuration the run used
    bool dry_run = false;             ///< a plan, or update with dry_run: nothing was changed
    bool pending = false;             ///< the plan had changes
    bool changed = false;             ///< something was changed
    std::vector<HostResult> hosts;    ///< each host, in the order the CLI prints them
    std::vector<std::string> notes;   ///< about the run as a whole
    std::vector<std::string> errors;  ///< every failure, as the CLI prints them on stderr
    std::string document;             ///< the --json document (the run log's report)
    int exit_code = 0;                ///< as the CLI exits
};

/// Connection::plan()'s flags (`lvsctl plan`).
struct PlanOptions {
    bool detailed_exitcode = false;  ///< exit_code 2 when changes are pending
};

/// Connection::update()'s flags (`lvsctl update`).
struct UpdateOptions {
    bool dry_run = false;            ///< plan only; no lock is taken
    bool detailed_exitcode = false;  ///< with dry_run: exit_code 2 when changes are pending
    int drain_timeout = 30;          ///< seconds a removed server's connections may take to end
};

/// The hooks (docs/commands.md, "Hooks"): the database change, then, unless no_update, the
/// cluster's update (of its LBs only for set_server), under the cluster's lock.
struct HookOptions {
    bool no_update = false;  ///< only write the database; run update later (to batch hooks)
};

/// A web server for Connection::add_server(): `lvsctl server add`'s flags.
struct NewServer {
    std::int64_t node_id = 0;               ///< the web server's node id
    std::string address;                    ///< the IPv4 real-server address
    std::string mgmt_address;               ///< the management (SSH) address
    std::optional<std::string> address_v6;  ///< the IPv6 real-server address
    int weight = 32;                        ///< its weight in IPVS
};

/// `lvsctl import`'s flags (docs/migration.md, docs/migration-keepalived-ipvsadm.md).
struct ImportOptions {
    std::string source = "import";     ///< the file's name, in messages
    std::string format = "lvscf";      ///< "lvscf", "keepalived" or "ipvsadm"
    std::vector<std::string> servers;  ///< "NAME=MGMT_IP": the management address of NAME
    std::string backend;               ///< empty: the cluster's (ipvs for a new one)
    std::string primary;               ///< the primary LB's management address, when given
    std::string backup;                ///< the backup LB's
    bool no_update = false;            ///< only write the database, as HookOptions::no_update
    /// Told each warning about the file (a note, not an error), before anything is written.
    std::function<void(const std::string&)> warning;
};

/// What a hook did: its database change, and the update that followed.
struct HookResult {
    std::string what;              ///< the database change, as the program prints it first
    std::optional<Result> update;  ///< the run that followed; none with no_update
    /// \name With no_update
    /// With no_update: the --json document, and the note that the hosts were not changed.
    /// @{
    std::string document;            ///< the --json document
    std::vector<std::string> notes;  ///< the note that the hosts were not changed
    /// @}
    /// \name remove_server()
    /// remove_server() once every LB let the server go: the line saying its row was deleted
    /// (none when the drain failed and the row stays), and the server's lo cleaned of the
    /// cluster's website IPs (`changes` done, `errors`; its exit_code is the call's).
    /// @{
    std::optional<std::string> removed;  ///< the line saying the server's row was deleted
    std::optional<HostResult> cleanup;   ///< the server's lo cleaned of the website IPs
    /// @}
    int exit_code = 0;  ///< as the program exits: the update's (remove_server: the cleanup's)
};

/// remove_server()'s options: `lvsctl server remove`'s flags.
struct RemoveServerOptions {
    bool no_update = false;  ///< only delete the row; the next update drains and cleans
    int drain_timeout = 30;  ///< seconds the server's active connections may take to end
};

/// A web server of a cluster, as the database has it (servers()).
struct ServerInfo {
    std::int64_t node_id = 0;               ///< the web server's node id
    std::string address;                    ///< the IPv4 real-server address
    std::optional<std::string> address_v6;  ///< the IPv6 real-server address
    std::string mgmt_address;               ///< the management (SSH) address
    std::int64_t ssh_port = 22;             ///< the SSH port of the management address
    std::int64_t weight = 32;               ///< its weight in IPVS
    bool active = true;                     ///< whether it takes traffic
};

/// One cluster of update_all().
struct ClusterRun {
    std::int64_t cluster_id = 0;  ///< the cluster's id
    std::string cluster_name;     ///< its name
    /// "skipped" (another lvsctl held its lock: not run, not a failure), "planned", "converged",
    /// "unchanged", "partial", "invalid" (65) or "failed".
    std::string status;
    bool skipped = false;             ///< another lvsctl held the cluster's lock: not run
    bool changed = false;             ///< something was changed on a host
    bool pending = false;             ///< the plan had changes
    std::size_t changes = 0;          ///< changes done (dry_run: pending)
    std::vector<std::string> errors;  ///< as the CLI prints them on stderr, after "lvsctl: "
    std::string summary;              ///< the line `update --all` prints for the cluster
    std::string document;             ///< update's --json document; empty when it has none
    int exit_code = 0;                ///< as `update --cluster-id` would have exited
};

/// update_all()'s options: `lvsctl update --all`'s flags (`plan --all` is dry_run).
struct AllOptions {
    bool dry_run = false;            ///< plan only (`plan --all`); no lock is taken
    bool detailed_exitcode = false;  ///< with dry_run: exit_code 2 when changes are pending
    int drain_timeout = 30;          ///< seconds a removed server's connections may take to end
    int clusters_parallel = 4;       ///< clusters at once
    /// Told each cluster's outcome in the order of clusters(), as soon as it and every cluster
    /// before it have finished; one call at a time, from the calling thread or a worker.
    std::function<void(const ClusterRun&)> done;
};

/// What update_all() gives: every cluster's run, and the run as a whole.
struct AllResult {
    std::vector<ClusterRun> clusters;  ///< in the order of clusters()
    std::string summary;               ///< the last line: "4 clusters: 1 converged, ..."
    std::string document;              ///< the --json document
    int exit_code = 0;                 ///< the worst of the clusters' (docs/exit-codes.md)
};

/// What render() gives: `content` is the file as `lvsctl render` prints it.
struct Rendered {
    std::int64_t cluster_id = 0;  ///< the cluster's id
    std::string cluster_name;     ///< its name
    std::string format;           ///< the format rendered ("lvs.cf", "keepalived", ...)
    std::string content;          ///< the file, as `lvsctl render` prints it
};

/// One host of status(): what `lvsctl status` prints for it.
struct HostStatus {
    std::string host;                  ///< "lb 10.0.0.1" or "web 10.0.0.11"
    std::optional<std::string> error;  ///< the host could not be read
    std::string text;                  ///< the table, VRRP, monitor and website-IP lines
};

/// What status() gives: each host's part of `lvsctl status`.
struct StatusResult {
    std::int64_t cluster_id = 0;    ///< the cluster's id
    std::vector<HostStatus> hosts;  ///< each host, in the order the CLI prints them
    std::string document;           ///< the --json document
    int exit_code = 0;              ///< 3 when a host could not be read
};

/// A session with the platform's database and the options every call runs with. Movable, not
/// copyable; one call at a time per Connection.
class LVSCTL_API Connection {
  public:
    /// A Connection that runs every call with `options`. Nothing is reached yet: the first call
    /// that needs the database connects (Error 69 when it cannot be reached).
    static Connection open(const Options& options);
    ~Connection();                                      ///< closes the database session, if any
    Connection(Connection&&) noexcept;                  ///< takes over the session
    Connection& operator=(Connection&&) noexcept;       ///< takes over the session
    Connection(const Connection&) = delete;             ///< not copyable
    Connection& operator=(const Connection&) = delete;  ///< not copyable

    /// The clusters of the database, as `update --all` lists them.
    std::vector<ClusterInfo> clusters();
    /// The web servers of cluster `cluster_id` (Error 65 when it does not exist).
    std::vector<ServerInfo> servers(std::int64_t cluster_id);
    /// What update would change (`lvsctl plan`); nothing is changed, no lock is taken.
    Result plan(std::int64_t cluster_id, const PlanOptions& options = {});
    /// `lvsctl update`: under the cluster's lock (waiting Options::lock_timeout, then Error 75),
    /// held by a database session of its own that ends with the call.
    Result update(std::int64_t cluster_id, const UpdateOptions& options = {});
    /// `lvsctl update --all` (`plan --all` with dry_run): every cluster, clusters_parallel at
    /// once, each on a database session of its own under its lock taken without waiting (a
    /// cluster another lvsctl holds is skipped). A cluster's failure is its ClusterRun's, never
    /// the call's; Error only when the clusters cannot be listed.
    AllResult update_all(const AllOptions& options = {});
    /// `lvsctl render`: "lvs.cf", "keepalived", "keepalived-vrrp" (role "primary" or "backup"),
    /// "ipvsadm" or "json".
    /// \param cluster_id the cluster (`--cluster-id`)
    /// \param format     the file to render (`--format`); another: Error 64
    /// \param role       keepalived-vrrp: which LB's file (`--role`)
    /// \return the file, as `lvsctl render` prints it
    Rendered render(std::int64_t cluster_id, const std::string& format = "lvs.cf",
                    const std::string& role = "primary");
    /// `lvsctl status`: layout "list", "stats" or "rate".
    /// \param cluster_id the cluster (`--cluster-id`)
    /// \param layout     "list", "stats" (`--stats`) or "rate" (`--rate`); another: Error 64
    /// \return each host's part, and the exit code (3 when a host could not be read)
    StatusResult status(std::int64_t cluster_id, const std::string& layout = "list");

    /// \name Hooks
    /// The hooks: `lvsctl server add`, `server set` (weight, activity or both), `ip add`,
    /// `ip remove`. Each takes the cluster's lock on a database session of its own (Error 75
    /// after Options::lock_timeout), writes in one transaction that validates the cluster
    /// (Error 65: nothing written), then updates. An address that does not parse: Error 64.
    /// @{

    /// `lvsctl server add`: a new web server in the cluster.
    HookResult add_server(std::int64_t cluster_id, const NewServer& server,
                          const HookOptions& options = {});
    /// `lvsctl server set`: a web server's weight, activity or both; then only the cluster's LBs
    /// are updated.
    /// \param cluster_id the cluster (`--cluster-id`)
    /// \param node_id    the web server (`--node-id`)
    /// \param weight     its new weight; std::nullopt: unchanged (the flag not given)
    /// \param active     whether it takes traffic; std::nullopt: unchanged
    /// \param options    HookOptions::no_update: only the database is written
    HookResult set_server(std::int64_t cluster_id, std::int64_t node_id, std::optional<int> weight,
                          std::optional<bool> active, const HookOptions& options = {});
    /// `lvsctl server remove`: under the cluster's lock, the cluster's update without the server
    /// (drained, then out of IPVS); only when every LB let it go is its row deleted, and then the
    /// cluster's website IPs leave its lo. A drain that failed keeps the row (run it again).
    HookResult remove_server(std::int64_t cluster_id, std::int64_t node_id,
                             const RemoveServerOptions& options = {});
    /// `lvsctl ip add`: website IPs added to the cluster.
    HookResult add_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                       const HookOptions& options = {});
    /// `lvsctl ip remove`: website IPs removed from the cluster.
    HookResult remove_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                          const HookOptions& options = {});
    /// @}

    /// `lvsctl import`: `text` (a piranha lvs.cf, a keepalived.conf or `ipvsadm -S` output) made
    /// cluster `cluster_id` (its settings, LBs and servers; website IPs added), then updated as
    /// a hook. A file that does not parse, or asks what the backend cannot do: Error 65.
    HookResult import_config(std::int64_t cluster_id, const std::string& text,
                             const ImportOptions& options = {});

  private:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// The library's version, as `lvsctl --version` prints it.
LVSCTL_API std::string version();

}  // namespace lvsctl::api
