// lvsctl's public API (docs/library.md): what the `lvsctl` program does with a cluster, from
// your own program. The CLI's plan, update (one cluster or --all), render, status, import and
// hooks run through these same calls.
//
// Only this header and export.h are public; they name no internal type and no third-party
// library. Every type is a plain value (public fields, std::string, std::vector, std::optional,
// std::int64_t) so that bindings (pybind11) wrap them as they are. Every failure is an
// lvsctl::api::Error carrying the exit code the CLI would give (docs/commands.md, "Exit codes").
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

namespace lvsctl::api {

// The exit codes of docs/commands.md, as Error::exit_code() and Result::exit_code give them.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int changes_pending = 2;  // plan / update --dry-run with detailed_exitcode
inline constexpr int partial = 3;
inline constexpr int usage = 64;
inline constexpr int data = 65;
inline constexpr int unreachable = 68;
inline constexpr int db_unavailable = 69;
inline constexpr int internal = 70;
inline constexpr int kernel = 71;
inline constexpr int lock_busy = 75;
inline constexpr int permission = 77;
inline constexpr int config = 78;
}  // namespace exit_code

// Every failure of a call: the message the CLI prints after "lvsctl: ", and its exit code.
class LVSCTL_API Error : public std::runtime_error {
  public:
    Error(int exit_code, const std::string& message);
    int exit_code() const noexcept;

  private:
    int exit_code_;
};

// A run's progress (docs/commands.md, "Progress"): a phase begins over `total` hosts, then each
// host is done (failed or not), and the run ends. Called from the run's worker threads: the
// callback must be thread-safe, and must not throw.
struct ProgressEvent {
    enum class Kind { begin, done, end };
    Kind kind = Kind::begin;
    std::string phase;      // begin: "reading hosts", "LBs: applying", ...
    std::size_t total = 0;  // begin: how many hosts
    bool failed = false;    // done: whether the host failed
};
using Progress = std::function<void(const ProgressEvent&)>;

// The CLI's global options (docs/commands.md, "Global options"), with their defaults.
struct Options {
    std::optional<std::string> db;  // libpq conninfo or URI; empty: libpq's PG* defaults
    std::string ssh_user = "root";
    std::optional<std::string> ssh_identity;
    std::string known_hosts = "~/.ssh/known_hosts";
    // The templates' directory; empty: the one installed with the library
    // (PREFIX/share/lvsctl/templates).
    std::optional<std::string> templates;
    std::string agent = "lvsctl";  // the program run on the LBs
    int timeout = 30;              // seconds: SSH and remote commands; the database's statements
    int parallel = 16;             // hosts at once
    int lock_timeout = 60;         // seconds update waits for the cluster's lock
    bool vrrp_nopreempt = false;
    bool vrrp_unicast = false;
    Progress progress;  // told of every run's phases and hosts when set
};

// Options as the CLI gets them with no flags: the config file's keys (lvsctl.conf(5)) over the
// defaults, then LVSCTL_DB over the file's db. A missing file is no error unless `must_exist`;
// a bad one throws Error (78).
LVSCTL_API Options load_options(const std::string& config_path = "/etc/lvsctl/lvsctl.conf",
                                bool must_exist = false);

struct ClusterInfo {
    std::int64_t id = 0;
    std::string name;
};

// One host of a run: "lb 10.0.0.1" or "web 10.0.0.11".
struct HostResult {
    std::string host;
    std::string role;                  // "lb" or "web"
    std::vector<std::string> changes;  // pending (plan), or done when `applied`
    bool applied = false;              // update ran on this host (not a plan)
    std::vector<std::string> errors;   // what failed while applying
    std::optional<std::string> error;  // the host could not be reached or read
    int exit_code = 0;                 // this host's part of the run's exit code
    bool monitored = false;            // an LB with a monitor
    std::string monitor;               // then: the monitor's summary line
};

// One run of plan or update of a cluster.
struct Result {
    std::int64_t cluster_id = 0;
    std::string cluster_name;
    std::string backend;
    std::int64_t serial = 0;
    bool dry_run = false;
    bool pending = false;  // the plan had changes
    bool changed = false;  // something was changed
    std::vector<HostResult> hosts;
    std::vector<std::string> notes;   // about the run as a whole
    std::vector<std::string> errors;  // every failure, as the CLI prints them on stderr
    std::string document;             // the --json document (the run log's report)
    int exit_code = 0;                // as the CLI exits
};

struct PlanOptions {
    bool detailed_exitcode = false;  // exit_code 2 when changes are pending
};

struct UpdateOptions {
    bool dry_run = false;  // plan only; no lock is taken
    bool detailed_exitcode = false;
    int drain_timeout = 30;  // seconds a removed server's connections may take to end
};

// The hooks (docs/commands.md, "Hooks"): the database change, then, unless no_update, the
// cluster's update (of its LBs only for set_server), under the cluster's lock.
struct HookOptions {
    bool no_update = false;  // only write the database; run update later (to batch hooks)
};

// A web server for add_server(): `lvsctl server add`'s flags.
struct NewServer {
    std::int64_t node_id = 0;
    std::string address;                    // the IPv4 real-server address
    std::string mgmt_address;               // the management (SSH) address
    std::optional<std::string> address_v6;  // the IPv6 real-server address
    int weight = 32;
};

// `lvsctl import`'s flags (docs/migration.md, docs/migration-keepalived-ipvsadm.md).
struct ImportOptions {
    std::string source = "import";     // the file's name, in messages
    std::string format = "lvscf";      // "lvscf", "keepalived" or "ipvsadm"
    std::vector<std::string> servers;  // "NAME=MGMT_IP": the management address of NAME
    std::string backend;               // empty: the cluster's (ipvs for a new one)
    std::string primary;               // the primary LB's management address, when given
    std::string backup;                // the backup LB's
    bool no_update = false;
    // Told each warning about the file (a note, not an error), before anything is written.
    std::function<void(const std::string&)> warning;
};

struct HookResult {
    std::string what;              // the database change, as the program prints it first
    std::optional<Result> update;  // the run that followed; none with no_update
    // With no_update: the --json document, and the note that the hosts were not changed.
    std::string document;
    std::vector<std::string> notes;
    // remove_server() once every LB let the server go: the line saying its row was deleted
    // (none when the drain failed and the row stays), and the server's lo cleaned of the
    // cluster's website IPs (`changes` done, `errors`; its exit_code is the call's).
    std::optional<std::string> removed;
    std::optional<HostResult> cleanup;
    int exit_code = 0;  // as the program exits: the update's (remove_server: the cleanup's)
};

// remove_server()'s options: `lvsctl server remove`'s flags.
struct RemoveServerOptions {
    bool no_update = false;  // only delete the row; the next update drains and cleans
    int drain_timeout = 30;  // seconds the server's active connections may take to end
};

// A web server of a cluster, as the database has it (servers()).
struct ServerInfo {
    std::int64_t node_id = 0;
    std::string address;                    // the IPv4 real-server address
    std::optional<std::string> address_v6;  // the IPv6 real-server address
    std::string mgmt_address;               // the management (SSH) address
    std::int64_t ssh_port = 22;
    std::int64_t weight = 32;
    bool active = true;
};

// One cluster of update_all().
struct ClusterRun {
    std::int64_t cluster_id = 0;
    std::string cluster_name;
    // "skipped" (another lvsctl held its lock: not run, not a failure), "planned", "converged",
    // "unchanged", "partial", "invalid" (65) or "failed".
    std::string status;
    bool skipped = false;
    bool changed = false;             // something was changed on a host
    bool pending = false;             // the plan had changes
    std::size_t changes = 0;          // changes done (dry_run: pending)
    std::vector<std::string> errors;  // as the CLI prints them on stderr, after "lvsctl: "
    std::string summary;              // the line `update --all` prints for the cluster
    std::string document;             // update's --json document; empty when it has none
    int exit_code = 0;                // as `update --cluster-id` would have exited
};

// update_all()'s options: `lvsctl update --all`'s flags (`plan --all` is dry_run).
struct AllOptions {
    bool dry_run = false;
    bool detailed_exitcode = false;
    int drain_timeout = 30;
    int clusters_parallel = 4;  // clusters at once
    // Told each cluster's outcome in the order of clusters(), as soon as it and every cluster
    // before it have finished; one call at a time, from the calling thread or a worker.
    std::function<void(const ClusterRun&)> done;
};

struct AllResult {
    std::vector<ClusterRun> clusters;  // in the order of clusters()
    std::string summary;               // the last line: "4 clusters: 1 converged, ..."
    std::string document;              // the --json document
    int exit_code = 0;                 // the worst of the clusters' (docs/exit-codes.md)
};

// What render() gives: `content` is the file as `lvsctl render` prints it.
struct Rendered {
    std::int64_t cluster_id = 0;
    std::string cluster_name;
    std::string format;
    std::string content;
};

// One host of status(): what `lvsctl status` prints for it.
struct HostStatus {
    std::string host;
    std::optional<std::string> error;  // the host could not be read
    std::string text;                  // the table, VRRP, monitor and website-IP lines
};

struct StatusResult {
    std::int64_t cluster_id = 0;
    std::vector<HostStatus> hosts;
    std::string document;  // the --json document
    int exit_code = 0;     // 3 when a host could not be read
};

// A session with the platform's database and the options every call runs with. Movable, not
// copyable; one call at a time per Connection.
class LVSCTL_API Connection {
  public:
    // Nothing is reached yet: the first call that needs the database connects (Error 69 when
    // it cannot be reached).
    static Connection open(const Options& options);
    ~Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    std::vector<ClusterInfo> clusters();
    // The web servers of cluster `cluster_id` (Error 65 when it does not exist).
    std::vector<ServerInfo> servers(std::int64_t cluster_id);
    // What update would change (`lvsctl plan`); nothing is changed, no lock is taken.
    Result plan(std::int64_t cluster_id, const PlanOptions& options = {});
    // `lvsctl update`: under the cluster's lock (waiting Options::lock_timeout, then Error 75),
    // held by a database session of its own that ends with the call.
    Result update(std::int64_t cluster_id, const UpdateOptions& options = {});
    // `lvsctl update --all` (`plan --all` with dry_run): every cluster, clusters_parallel at
    // once, each on a database session of its own under its lock taken without waiting (a
    // cluster another lvsctl holds is skipped). A cluster's failure is its ClusterRun's, never
    // the call's; Error only when the clusters cannot be listed.
    AllResult update_all(const AllOptions& options = {});
    // `lvsctl render`: "lvs.cf", "keepalived", "keepalived-vrrp" (role "primary" or "backup"),
    // "ipvsadm" or "json".
    Rendered render(std::int64_t cluster_id, const std::string& format = "lvs.cf",
                    const std::string& role = "primary");
    // `lvsctl status`: layout "list", "stats" or "rate".
    StatusResult status(std::int64_t cluster_id, const std::string& layout = "list");

    // The hooks: `lvsctl server add`, `server set` (weight, activity or both), `ip add`,
    // `ip remove`. Each takes the cluster's lock on a database session of its own (Error 75
    // after Options::lock_timeout), writes in one transaction that validates the cluster
    // (Error 65: nothing written), then updates. An address that does not parse: Error 64.
    HookResult add_server(std::int64_t cluster_id, const NewServer& server,
                          const HookOptions& options = {});
    HookResult set_server(std::int64_t cluster_id, std::int64_t node_id, std::optional<int> weight,
                          std::optional<bool> active, const HookOptions& options = {});
    // `lvsctl server remove`: under the cluster's lock, the cluster's update without the server
    // (drained, then out of IPVS); only when every LB let it go is its row deleted, and then the
    // cluster's website IPs leave its lo. A drain that failed keeps the row (run it again).
    HookResult remove_server(std::int64_t cluster_id, std::int64_t node_id,
                             const RemoveServerOptions& options = {});
    HookResult add_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                       const HookOptions& options = {});
    HookResult remove_ips(std::int64_t cluster_id, const std::vector<std::string>& ips,
                          const HookOptions& options = {});
    // `lvsctl import`: `text` (a piranha lvs.cf, a keepalived.conf or `ipvsadm -S` output) made
    // cluster `cluster_id` (its settings, LBs and servers; website IPs added), then updated as
    // a hook. A file that does not parse, or asks what the backend cannot do: Error 65.
    HookResult import_config(std::int64_t cluster_id, const std::string& text,
                             const ImportOptions& options = {});

  private:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The library's version, as `lvsctl --version` prints it.
LVSCTL_API std::string version();

}  // namespace lvsctl::api
