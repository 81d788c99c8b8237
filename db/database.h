// The platform's database: connect, migrate, read a cluster. The only code that links libpqxx.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "lvsctl/model.h"

namespace lvsctl::db {

class Database {
  public:
    // `conninfo`: a libpq connection string or URI; empty means libpq's own defaults (PG*
    // variables, ~/.pgpass). Throws Error(ExitCode::db_unavailable) with libpq's reason.
    explicit Database(const std::optional<std::string>& conninfo);
    ~Database();
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
    Cluster read_cluster(std::int64_t id);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsctl::db
