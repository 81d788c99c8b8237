// `lvsctl db migrate`: create or upgrade the database schema (docs/database.md).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "db/database.h"
#include "lvsctl/cli/app.h"

namespace lvsctl::cli {

namespace {
int run_migrate(Context& ctx) {
    db::Database database(ctx.settings.db);
    const int applied = database.migrate();
    const int version = database.schema_version();
    if (ctx.settings.json) {
        fmt::print(ctx.out,
                   "{{\"changed\": {}, \"errors\": [], \"applied\": {}, \"schema_version\": {}}}\n",
                   applied > 0, applied, version);
    } else if (applied == 0) {
        fmt::print(ctx.out, "schema is up to date (version {})\n", version);
    } else {
        fmt::print(ctx.out, "applied {} migration(s); schema version {}\n", applied, version);
    }
    return 0;
}
}  // namespace

void setup_db(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("db", "Database schema");
    group->require_subcommand(1);
    auto* migrate = group->add_subcommand("migrate", "Create or upgrade the schema (idempotent)");
    registry.add(migrate, run_migrate);
}

}  // namespace lvsctl::cli
