// The schema of docs/database.md, as numbered migrations. Each runs in one transaction and
// records its number in lvsctl_schema_version, so `db migrate` is idempotent and resumable.
#pragma once

#include <string_view>
#include <vector>

namespace lvsctl::db {

struct Migration {
    int version;
    std::string_view description;
    std::string_view sql;
};

const std::vector<Migration>& migrations();

}  // namespace lvsctl::db
