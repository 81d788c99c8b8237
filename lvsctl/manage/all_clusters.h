// `update --all` and `plan --all` (docs/commands.md): every cluster of the database, at most N at
// once, each under its own lock taken without waiting. A cluster whose lock another lvsctl holds
// is skipped and reported, not waited for, so that several management nodes running `update
// --all` at once share the clusters between them. One summary line per cluster, the worst exit
// code of them all, one --json document with each cluster's.
//
// This part is pure: how a cluster is run (its database session, its lock, its hosts) is the
// ClusterRunner's, given by the program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lvsctl/error.h"

namespace lvsctl {

struct ClusterRef {
    std::int64_t id = 0;
    std::string name;
};

// How one cluster's run ended, as --all reports it.
struct ClusterOutcome {
    ClusterRef cluster;
    bool dry_run = false;
    bool skipped = false;  // another lvsctl held its lock: not run, and no failure
    // What `update --cluster-id` would have exited with (2: pending, with --detailed-exitcode).
    ExitCode code = ExitCode::ok;
    bool changed = false;             // something was changed on a host
    bool pending = false;             // the plan had changes
    std::size_t changes = 0;          // lines done (or, for a dry run, pending)
    std::vector<std::string> errors;  // as `update` prints them on stderr, without "lvsctl: "
    // What `update --json` prints for the cluster; empty when the run did not get that far
    // (skipped, bad rows, no template, the database).
    std::string document;
};

// "skipped", "planned", "converged", "unchanged", "partial", "invalid" (exit 65) or "failed".
std::string cluster_status(const ClusterOutcome& outcome);

// One line per cluster: "cluster 7 (Shop): converged, 3 changes", "... nothing to do",
// "... 3 changes pending", "... skipped: another lvsctl holds its lock",
// "... FAILED (exit 3): lb 10.0.0.1: ...".
std::string summary_line(const ClusterOutcome& outcome);

// The last line: "4 clusters: 1 converged, 1 nothing to do, 1 skipped, 1 failed".
std::string totals_line(const std::vector<ClusterOutcome>& outcomes);

// The order of severity of the exit codes (docs/exit-codes.md, "update --all"): a higher rank is
// worse. Success first, then what a retry fixes, then what a person must fix, then a bug.
int severity(ExitCode code);
// The worst of the clusters' codes; 0 for none. A skipped cluster counts as 0.
ExitCode worst_exit_code(const std::vector<ClusterOutcome>& outcomes);

// --json: {"dry_run", "changed", "clusters": [update's document of each cluster, plus "status"
// and "skipped"; or {"cluster": {"id", "name"}, "status", "skipped", "changed", "errors",
// "exit_code"} when it has none], "exit_code"}.
std::string all_clusters_document(const std::vector<ClusterOutcome>& outcomes, bool dry_run,
                                  ExitCode code);

// Runs one cluster. It may throw: an Error becomes the cluster's failure with its code (any
// other exception: 70), never the other clusters'.
class ClusterRunner {
  public:
    virtual ~ClusterRunner() = default;
    virtual ClusterOutcome run(const ClusterRef& cluster) = 0;
};

class AllClusters {
  public:
    AllClusters(ClusterRunner& runner, std::size_t parallel)
        : runner_(runner), parallel_(parallel) {}
    // Runs every cluster of `clusters`, each once, at most `parallel` at once. `done` is called
    // for each outcome in the order of `clusters`, as soon as that cluster and all before it
    // have finished, one call at a time. Returns the outcomes in that order.
    std::vector<ClusterOutcome> run(const std::vector<ClusterRef>& clusters, bool dry_run,
                                    const std::function<void(const ClusterOutcome&)>& done);

  private:
    ClusterRunner& runner_;
    std::size_t parallel_;
};

}  // namespace lvsctl
