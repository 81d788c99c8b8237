// A web server's part of an update (docs/agent-protocol.md, "Web servers"): the cluster's website
// IPs on `lo` (IPv4 /32, IPv6 /128), arp_ignore=1 and arp_announce=2 on `all`, and nothing else of
// `lo` touched.
//
// Which addresses on `lo` lvsctl put there for cluster N is recorded on the host itself
// (/var/lib/lvsctl/lo-cluster-N.ips, written atomically): only those are ever removed, so an
// address someone else configured survives, even one that was once a website IP elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/host_report.h"
#include "lvsctl/manage/transport.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl {

struct WebObserved {
    std::vector<InterfaceAddress> lo;
    std::optional<int> arp_ignore, arp_announce;
    std::vector<IpAddress> owned;  // the record: what lvsctl placed on lo for this cluster
    // The record ends with a newline, so lines can be appended to it. It does not after a write
    // cut short (the host crashed): that last line is not read, and the record is rewritten.
    bool record_appendable = true;
};

// The output of web_read_command(). Throws Error(ExitCode::partial) naming `host` when it is
// not what that command prints.
WebObserved parse_web_observed(std::string_view output, std::string_view host);

struct WebPlan {
    std::vector<std::pair<std::string, int>> sysctls;  // name, value: only those that differ
    std::vector<IpAddress> add;
    std::vector<InterfaceAddress> remove;
    // The record while adding (owned + what is added: ownership is written before the change)
    // and at the end; std::nullopt where it is already so.
    std::optional<std::vector<IpAddress>> record_before, record_after;
    // What record_before adds to the record, when it can be appended rather than rewritten:
    // one more website IP sends one line, not 10,000.
    std::vector<IpAddress> record_append;
    bool converged() const {
        return sysctls.empty() && add.empty() && remove.empty() && !record_before && !record_after;
    }
};

WebPlan plan_web(const std::vector<IpAddress>& desired, const WebObserved& seen);

// The record's path on web servers, for cluster `cluster_id`.
std::string web_record_path(std::int64_t cluster_id);

// A host's address changes as lines for people (the plan, the report, the run log): the first
// kNamedAddresses of each kind by name, then one line counting the rest, so that a cold update
// of 10,000 website IPs on 64 web servers prints, records and keeps 64 x 21 lines, not 640,000.
inline constexpr std::size_t kNamedAddresses = 20;
void describe_addresses(const std::vector<IpAddress>& add,
                        const std::vector<InterfaceAddress>& remove, std::string_view remove_note,
                        std::vector<std::string>& out);
// argv that prints lo's addresses, the two sysctls and the record at `record_path`
// (parse_web_observed reads it): scripts/web-read.sh.
std::vector<std::string> web_read_command(const std::string& record_path);
// `ip -batch` input for these changes: one line each, addresses printed by IpAddress::str().
std::string ip_batch(const std::vector<IpAddress>& add, const std::vector<InterfaceAddress>& remove,
                     std::string_view device);

// One web server: observe(), then add() (the order of docs/failure-model.md: before the LB) and
// remove() (after it). Each changing command is counted by the Transport; a converged host runs
// none.
class WebServerStep {
  public:
    // `record_path`: where the host keeps the record (tests run the scripts for real, locally).
    WebServerStep(Transport& host, std::string name, std::int64_t cluster_id,
                  std::vector<IpAddress> desired, std::string record_path = {})
        : host_(host),
          name_(std::move(name)),
          record_path_(record_path.empty() ? web_record_path(cluster_id) : std::move(record_path)),
          desired_(std::move(desired)) {}

    // Reads the host's state and plans. Throws Error naming the host.
    const WebPlan& observe();
    const WebPlan& plan() const { return plan_; }
    // Sysctls, the record grown, the new addresses. Returns false when something failed.
    bool add(HostReport& report);
    // Addresses no longer wanted, then the record shrunk.
    bool remove(HostReport& report);

  private:
    // One `ip -force -batch`; with `record_first`, the record is written in the same command
    // before any address changes (one round trip per host for a change): replaced by
    // `record_first`, or, where the plan has record_append, those lines appended to it.
    bool batch(const std::vector<IpAddress>& add, const std::vector<InterfaceAddress>& remove,
               HostReport& report, const std::vector<IpAddress>* record_first = nullptr);
    bool write_record(const std::vector<IpAddress>& ips, HostReport& report);

    Transport& host_;
    std::string name_;
    std::string record_path_;
    std::vector<IpAddress> desired_;
    WebPlan plan_;
};

}  // namespace lvsctl
