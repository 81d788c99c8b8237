// `lvsctl db migrate`: create or upgrade the database schema (SPEC.md section 3).
#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

void setup_db(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("db", "Database schema");
    group->require_subcommand(1);
    auto* migrate = group->add_subcommand("migrate", "Create or upgrade the schema (idempotent)");
    registry.add(migrate,
                 [](Context&) -> int { unavailable("db migrate", "the database module"); });
}

}  // namespace lvsctl::cli
