// `lvsctl update`: a validated cluster made real on its hosts, in the order of
// docs/failure-model.md.
//
//  1. Every host is reached and read at once (web servers: lo, sysctls, record; LBs: what the
//     backend has now), and each host's plan computed: `plan` / `--dry-run` stop here.
//  2. Web servers: the ARP sysctls and new website IPs on lo.
//  3. LBs: the backend converges them. A website IP goes on the LB only when every web server
//     got it, and a new server becomes a destination only when its lo did: while a web server
//     failed, the LB keeps the website IPs and destinations it already has.
//  4. Web servers: former website IPs leave lo, once every LB has let them go.
//
// A host that fails never stops the others; the result names it.
//
// With UpdateSettings::lbs_only (`server set`) only the LBs are read and converged: step 1
// reads the LBs, steps 2 and 4 have no host, and step 3 holds back as if every web server had
// failed (docs/commands.md, "Hooks").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/ipvs_types.h"
#include "lvsctl/manage/progress.h"
#include "lvsctl/manage/transport.h"
#include "lvsctl/manage/web_step.h"
#include "lvsctl/model.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/protocol/desired_state.h"

namespace lvsctl {

// What an LB's backend does with its desired state. The ipvs backend runs the agent over SSH;
// piranha and keepalived replace a rendered file and reload; exec runs a provider's program.
class LbBackend {
  public:
    virtual ~LbBackend() = default;
    // Reads what the LB has and returns the pending changes (empty: converged). Throws Error
    // naming the LB when it cannot.
    virtual std::vector<std::string> plan(const LbDesiredState& desired) = 0;
    // The website IPs and the destinations (by address) the LB has now, as plan() read them;
    // std::nullopt (the default) when the backend cannot tell (then nothing new goes there
    // while a web server failed).
    virtual std::optional<std::vector<IpAddress>> website_ips() const { return std::nullopt; }
    virtual std::optional<std::vector<IpAddress>> destinations() const { return std::nullopt; }
    // The LB's whole IPVS table with counters, as plan() read it; std::nullopt (the default)
    // when the backend cannot show it (status).
    virtual std::optional<std::vector<ServiceInfo>> table() const { return std::nullopt; }
    // Whether the LB runs lvsctl's monitor (docs/monitor.md), and so has one to tell of: the
    // ipvs backend. Then monitor() is the cluster's monitor as plan() read it, std::nullopt when
    // it left no health record on the LB (it never ran).
    virtual bool has_monitor() const { return false; }
    virtual std::optional<MonitorShown> monitor() const { return std::nullopt; }
    // ha = vrrp (docs/ha.md): the LB's VRRP state, keepalived, and the sync daemons as plan()
    // read them; std::nullopt (the default) for LBs whose website IPs keepalived does not move.
    virtual std::optional<HaShown> ha() const { return std::nullopt; }
    // Converges the LB; false when something failed (each failure in `report`).
    virtual bool apply(const LbDesiredState& desired, HostReport& report) = 0;
};

struct UpdateSettings {
    std::size_t parallel = 16;
    std::uint32_t drain_timeout = 30;
    Progress* progress = nullptr;  // told of each host done in each phase, when set
    // The LBs only (`server set`: weights and activity, which no web server depends on;
    // docs/commands.md, "Hooks"): the web servers are neither reached, read nor changed, and
    // each LB gets nothing they were not checked for: held_back() as if every web server had
    // failed, so no website IP or destination the LB does not have yet; those it has follow
    // the database (their weights, a website IP or server gone from it). What is held back
    // waits for the next full run, and the result's notes name it. When an LB cannot tell what
    // it has (its backend's website_ips() or destinations() is std::nullopt: piranha,
    // keepalived, exec:, a VRRP LB without lvsctl's keepalived.conf yet), nothing could be held
    // back there: the web servers are read after all, and the run is a full one (a note says
    // so).
    bool lbs_only = false;
};

struct HostPlan {
    std::string host;
    std::vector<std::string> changes;  // pending; empty when the host is converged
    std::optional<std::string> error;  // the host could not be reached or read
    std::optional<ExitCode> failure;
    bool monitored = false;               // an LB whose backend has a monitor (has_monitor())
    std::optional<MonitorShown> monitor;  // then: its record, when it left one
};

// Why a run stopped between two phases (RunGuard), and the exit code that says so.
struct RunStop {
    ExitCode code = ExitCode::internal;
    std::string reason;
};

struct UpdateResult {
    std::vector<HostPlan> plan;       // as read before anything changed
    std::vector<HostReport> applied;  // after applying (empty for a dry run), in plan's order
    std::optional<RunStop> stopped;   // the run stopped before its end
    bool pending() const;             // the plan has changes
    bool changed() const;             // something was changed
    // The stop's code when the run stopped. Else 0; 3 when some host failed while changing
    // (whatever it threw: its state is not known) or failed to be read for another reason than
    // the two below; 68 when a host could not be reached and nothing changed anywhere; 77 when
    // a host refused us (key, authentication, not root) and nothing changed anywhere.
    ExitCode code() const;
    // The run was one of the LBs only (UpdateSettings::lbs_only, not made a full one): `plan`
    // and `applied` have no web server.
    bool lbs_only = false;
    // About the run as a whole, each a sentence (what `update` prints as a note and puts in its
    // document's note): with lbs_only, that the web servers were not read, and what each LB
    // did not get.
    std::vector<std::string> notes;
};

// Asked before each changing phase, and before the run is recorded, whether the run may go on:
// the cluster's lock is still held. Throws Error (e.g. ExitCode::db_unavailable) when not; the
// run then stops where it is, and says why.
class RunGuard {
  public:
    virtual ~RunGuard() = default;
    virtual void check() = 0;
};

// How the Updater reaches hosts and makes backends: injected, so that tests use fakes.
class UpdateEnvironment {
  public:
    virtual ~UpdateEnvironment() = default;
    virtual Connector& connector() = 0;
    // The backend for `lb` of `cluster`, working over `host` (nullptr for backends that do not
    // use SSH to the LB, such as exec:).
    virtual std::unique_ptr<LbBackend> backend(const Cluster& cluster, const LoadBalancer& lb,
                                               Transport* host, const std::string& name) = 0;
    virtual bool needs_ssh(const Cluster& cluster) const = 0;
};

class Updater {
  public:
    Updater(UpdateEnvironment& env, UpdateSettings settings, RunGuard* guard = nullptr)
        : env_(env), settings_(settings), guard_(guard) {}
    // `cluster` must be valid (validate()).
    UpdateResult run(const Cluster& cluster, bool dry_run);

  private:
    UpdateEnvironment& env_;
    UpdateSettings settings_;
    RunGuard* guard_;
};

// A web server's plan as lines (what `plan` prints), appended to `out`.
void describe(const WebPlan& plan, std::vector<std::string>& out);

// How hosts are named in messages: "web 10.39.94.43", "lb 10.39.94.41".
std::string web_name(const Server& server);
std::string lb_name(const LoadBalancer& lb);

// The desired state `update` gives an LB while some web servers failed (see above): the
// website IPs the LB has and new ones only if `all_web_ok`; destinations the LB has, and new
// ones only for servers in `web_ok`; the monitor's checks of those destinations only.
LbDesiredState held_back(const LbDesiredState& desired,
                         const std::optional<std::vector<IpAddress>>& lb_website_ips,
                         const std::optional<std::vector<IpAddress>>& lb_destinations,
                         bool all_web_ok, const std::vector<IpAddress>& web_ok_addresses);

}  // namespace lvsctl
