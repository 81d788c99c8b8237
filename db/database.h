// The platform's database: connect, migrate, read a cluster. The only code that links libpqxx.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/manage/run_log.h"
#include "lvsctl/model.h"

namespace lvsctl::db {

class Database : public RunLog {
  public:
    // `conninfo`: a libpq connection string or URI; empty means libpq's own defaults (PG*
    // variables, ~/.pgpass). Throws Error(ExitCode::db_unavailable) with libpq's reason.
    // `timeout` bounds the connect and every statement (not the wait for a cluster lock). A
    // session that is lost is never silently replaced: every later call fails with 69.
    explicit Database(const std::optional<std::string>& conninfo,
                      std::chrono::seconds timeout = std::chrono::seconds(60));
    ~Database() override;
    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;

    // Applies the migrations this database lacks, each in its own transaction, under an
    // advisory lock so two `db migrate` at once do not race. Returns how many it applied.
    int migrate();
    int schema_version();

    // Cluster `id` with its LBs, servers and website IPs, read in one REPEATABLE READ, read-only
    // snapshot, and its last serial from the run log. A missing cluster or a row that does not
    // fit the model throws Error(ExitCode::data) naming the table, the key and the column; the
    // model is not validated here (validate() does that).
    Cluster read_cluster(std::int64_t id) override;

    // Takes cluster `id`'s advisory lock for the rest of this connection's life, so that two
    // changing commands on one cluster never interleave. Waits at most `timeout`, then throws
    // Error(ExitCode::lock_busy).
    void lock_cluster(std::int64_t id, std::chrono::seconds timeout);
    // Throws Error(ExitCode::db_unavailable) when the lock lock_cluster() took is no longer this
    // session's (the connection was lost: the server restarted, or ended the session). Does
    // nothing when no lock was taken.
    void check_lock();
    // `update --all`: takes cluster `id`'s lock as lock_cluster() does, but only if it is free
    // now (pg_try_advisory_lock): false, and nothing taken, when another session holds it.
    bool try_lock_cluster(std::int64_t id);

    // Every cluster's id and name, by id.
    struct ClusterName {
        std::int64_t id = 0;
        std::string name;
    };
    std::vector<ClusterName> list_clusters();

    // The hooks' writes. Each runs in one transaction that reads the cluster back and validates
    // it before committing: a change that would leave an invalid cluster is refused with
    // Error(ExitCode::data) and nothing is written.
    struct NewServer {
        std::int64_t node_id = 0;
        IpAddress mgmt_address;
        IpAddress address;
        std::optional<IpAddress> address_v6;
        std::int64_t weight = 32;
    };
    void add_server(std::int64_t cluster_id, const NewServer& server);
    void remove_server(std::int64_t cluster_id, std::int64_t node_id);
    void set_server(std::int64_t cluster_id, std::int64_t node_id,
                    std::optional<std::int64_t> weight, std::optional<bool> active);
    // Return how many rows they changed: adding an IP that is there, or removing one that is
    // not, changes nothing and is no error.
    int add_ips(std::int64_t cluster_id, const std::vector<IpAddress>& ips);
    int remove_ips(std::int64_t cluster_id, const std::vector<IpAddress>& ips);

    // `import`: makes cluster `cluster_id` what an lvs.cf says (its settings, LBs and servers;
    // website IPs are added, never removed). Servers are matched by management address; one the
    // database lacks gets the next free node_id. Returns what it did, one line a change.
    // from_file.backend "" keeps the row's backend (ipvs for a new cluster); load balancers are
    // kept as they are when from_file has none; lvs.cf's other settings (Cluster::lvscf) replace
    // the cluster's rows of lvsctl_lvscf_settings (docs/migration.md).
    std::vector<std::string> import_cluster(std::int64_t cluster_id, const Cluster& from_file);
    // The cluster's backend column, or std::nullopt when there is no such cluster.
    std::optional<std::string> cluster_backend(std::int64_t cluster_id);

    // The run log (lvsctl_runs): RunLog's.
    std::optional<LastRun> last_run(std::int64_t cluster_id) override;
    std::int64_t record_run(const Run& run) override;  // returns run_id
    // Cluster `cluster_id`'s last `limit` runs, newest first (the web view).
    std::vector<RunSummary> recent_runs(std::int64_t cluster_id, int limit);
    // Every cluster's runs counted by result (`/metrics`), by cluster and result.
    std::vector<RunCount> run_counts();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsctl::db
