// How `update`, `plan` and the hooks run and print: each through the public API
// (include/lvsctl/lvsctl.h, docs/library.md), so that the program and a provider's own program
// cannot drift apart.
#pragma once

#include <cstdint>
#include <functional>

#include "lvsctl/cli/app.h"
#include "lvsctl/lvsctl.h"

namespace lvsctl::cli {

// `plan` and `update` of one cluster, through the public API (api::Connection): the progress
// line, the run, the result printed.
int converge_api(Context& ctx, std::int64_t cluster_id, const api::UpdateOptions& options);

// A hook through the public API: `call` runs it on a Connection opened with the global options
// and the progress line; prints its database change, its run and (server remove) the removal
// and the server's cleanup. Returns the exit code.
int hook_api(Context& ctx, std::int64_t cluster_id,
             const std::function<api::HookResult(api::Connection&)>& call);

// `update --all` and `plan --all` through the public API (api::Connection::update_all): one
// line per cluster as it finishes and a total (or, with --json, one document), each cluster's
// errors on stderr. Returns the worst exit code.
int converge_all(Context& ctx, const api::AllOptions& options);

}  // namespace lvsctl::cli
