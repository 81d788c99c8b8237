// `agent apply` and the placed half of `agent show`, as one class over injected seams
// (docs/architecture.md): the kernel's IPVS table, the interface's addresses, the two firewall
// tools, a clock and the store of ownership records. cmd_agent.cpp only builds the real ones,
// takes the LB's lock and prints the answer; the ordering rules are unit-tested with fakes.
//
// A run, in order (docs/agent-protocol.md, "What agent apply does"):
//  1. check what cannot be done before changing anything: the interface exists, the firewall
//     tool can express the marks, no other cluster's record owns what this one wants (65);
//  2. take this cluster's record (adopting the legacy one, or moving a corrupt one aside) and
//     write ownership of everything the run may create, before creating it;
//  3. IPVS: services and destinations, draining what goes;
//  4. marks and aliases, only when IPVS converged (else both stay as they were): a new website
//     IP is marked before its alias draws traffic, a removed one loses its alias before its
//     mark; a switch between nft and iptables removes the other tool's sets and rules first;
//  5. the record as the run left things.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/lb/marks.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/protocol/desired_state.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl {

// The agent's ownership records (agent_state.h), by file name, in its state directory.
class RecordStore {
  public:
    virtual ~RecordStore() = default;
    virtual std::vector<std::string> names() = 0;  // every file there
    // The file's content, or std::nullopt when there is no such file.
    virtual std::optional<std::string> read(const std::string& name) = 0;
    virtual void write(const std::string& name, const std::string& text) = 0;  // atomically
    // The same for a text made piece by piece (`text` calls its argument with each piece), so
    // that a large record need not be held whole; by default the pieces are joined for write().
    using Pieces = std::function<void(const std::function<void(std::string_view)>&)>;
    virtual void write_pieces(const std::string& name, const Pieces& text) {
        std::string whole;
        text([&](std::string_view piece) { whole.append(piece); });
        write(name, whole);
    }
    virtual void rename(const std::string& from, const std::string& to) = 0;
    virtual std::string path(const std::string& name) const = 0;  // as messages name it
};

// The firewall tools, and which one this kernel takes by default.
struct MarkTools {
    Marks& nft;
    Marks& iptables;
    bool nft_supported = false;
};

struct AgentSettings {
    std::string marks;  // "nft" or "iptables" to force one; "" = nft where supported
    bool full = false;  // dump and compare every service's destinations
    std::int64_t full_interval = 3600;
    std::int64_t now = 0;  // Unix seconds, for full_interval
};

struct AgentResult {
    AgentAnswer answer;
    std::vector<std::string> warnings;  // for stderr: records of other clusters not read, ...
    bool refused = false;               // the kernel said EPERM or EACCES
    // 0, 77 when refused, else 71 when there are errors.
    ExitCode code() const;
};

// Which firewall tool a cluster's record says made its marks, when a run may take it on trust
// instead of probing the kernel for nft (a process: `nft -c`): not with --marks (the caller's
// choice), not with --full, and not when the record's last full run is --full-interval old or
// more, the schedule on which the digests are not trusted either (docs/agent-protocol.md).
std::optional<std::string> trusted_marks_via(const AgentState& record,
                                             const AgentSettings& settings);
// The same for cluster `cluster_id`'s record in `records`: std::nullopt also when there is none
// or it cannot be read (apply() then deals with it).
std::optional<std::string> trusted_marks_via(RecordStore& records, std::int64_t cluster_id,
                                             const AgentSettings& settings);

// The fingerprint of the marks `spec` asks of tool `via` ("nft" or "iptables"), as the record
// keeps it (AgentState::marks_digest): the mark, protocol, ports and website IPs, in order.
std::string marks_digest(const MarkSpec& spec, const std::string& via);

// The desired state `agent apply` last received for a cluster, left in the state directory for
// the monitor: "desired-cluster-7.json".
std::string desired_record_name(std::int64_t cluster_id);

class Agent {
  public:
    Agent(IpvsKernel& ipvs, AddressKernel& addresses, MarkTools marks, Clock& clock,
          RecordStore& records)
        : ipvs_(ipvs), addresses_(addresses), marks_(marks), clock_(clock), records_(records) {}

    // What can be checked without the records: the interface exists, the firewall tool can
    // express the marks. Throws Error(ExitCode::data); apply() checks it too. Lets the caller
    // refuse a document before it takes the LB's lock (nothing at all changes).
    void check(const LbDesiredState& desired, const AgentSettings& settings);

    // Converges the LB to `desired`. Throws Error(ExitCode::data) before anything changes when
    // the document cannot be applied here (see above).
    AgentResult apply(const LbDesiredState& desired, const AgentSettings& settings);

    // What the agent placed for `cluster_id` (its record, or the legacy one while it has none),
    // or with std::nullopt for every cluster at once: the interface and tool all of them name
    // ("" when they differ), their marks, and their aliases present on the interfaces now.
    // Records that cannot be read are left out, with a warning.
    PlacedState placed(std::optional<std::int64_t> cluster_id, std::vector<std::string>& warnings);

    // The monitors' health records for `cluster_id` (or every cluster), each judged current or
    // not at `now` (Unix seconds). A record that cannot be read is left out, with a warning.
    std::vector<MonitorShown> monitors(std::optional<std::int64_t> cluster_id, std::int64_t now,
                                       std::vector<std::string>& warnings);

    // keepalived's VRRP states that `agent vrrp-notify` recorded for `cluster_id` (or every
    // cluster), with their age at `now` (Unix seconds). A record that cannot be read is left
    // out, with a warning.
    std::vector<VrrpState> vrrp_states(std::optional<std::int64_t> cluster_id, std::int64_t now,
                                       std::vector<std::string>& warnings);

  private:
    std::string via(const AgentSettings& settings) const;  // "nft" or "iptables"
    Marks& marks_for(const std::string& via) { return via == "nft" ? marks_.nft : marks_.iptables; }

    IpvsKernel& ipvs_;
    AddressKernel& addresses_;
    MarkTools marks_;
    Clock& clock_;
    RecordStore& records_;
};

}  // namespace lvsctl
