// A web server's part of an update (docs/agent-protocol.md, "Web servers"): the cluster's website
// IPs on `lo` (IPv4 /32, IPv6 /128), arp_ignore=1 and arp_announce=2 on `all`, and nothing else of
// `lo` touched.
//
// Which addresses on `lo` lvsctl put there for cluster N is recorded on the host itself
// (/var/lib/lvsctl/lo-cluster-N.ips, written atomically): only those are ever removed, so an
// address someone else configured survives, even one that was once a website IP elsewhere.
#pragma once

#include <cstdint>
#include <memory>
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
    // The record while adding (owned + what is added: ownership is written before the change),
    // written in one of two ways: appended(), the lines it gains, when the record can be
    // appended to (one more website IP sends one line, not 10,000); else `record_before`, the
    // whole of it. Both empty where the record is already so. `record_size`: how many it names
    // while adding.
    std::optional<std::vector<IpAddress>> record_before;
    std::vector<IpAddress> record_append;
    std::size_t record_size = 0;
    // The record at the end; std::nullopt where it is already so.
    std::optional<std::vector<IpAddress>> record_after;
    // On a cold host the lines appended are exactly `add`: then they are held once, there
    // (record_append stays empty), and this says so. appended() is the lines either way.
    bool record_appends_add = false;
    const std::vector<IpAddress>& appended() const {
        return record_appends_add ? add : record_append;
    }
    bool record_grows() const { return record_before.has_value() || !appended().empty(); }
    bool converged() const {
        return sysctls.empty() && add.empty() && remove.empty() && !record_grows() && !record_after;
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
    // `desired` may be shared by every web server of the run (10,000 website IPs are 200 KB).
    WebServerStep(Transport& host, std::string name, std::int64_t cluster_id,
                  std::shared_ptr<const std::vector<IpAddress>> desired,
                  std::string record_path = {})
        : host_(host),
          name_(std::move(name)),
          record_path_(record_path.empty() ? web_record_path(cluster_id) : std::move(record_path)),
          desired_(std::move(desired)) {}
    WebServerStep(Transport& host, std::string name, std::int64_t cluster_id,
                  std::vector<IpAddress> desired, std::string record_path = {})
        : WebServerStep(host, std::move(name), cluster_id,
                        std::make_shared<const std::vector<IpAddress>>(std::move(desired)),
                        std::move(record_path)) {}

    // Reads the host's state and plans. Throws Error naming the host.
    const WebPlan& observe();
    const WebPlan& plan() const { return plan_; }
    // Sysctls, the record grown, the new addresses. Returns false when something failed.
    bool add(HostReport& report);
    // Addresses no longer wanted, then the record shrunk.
    bool remove(HostReport& report);

  private:
    // One `ip -force -batch`; with `record_first`, the plan's record while adding is written in
    // the same command before any address changes (one round trip per host for a change):
    // appended() appended to it, or record_before replacing it.
    bool batch(const std::vector<IpAddress>& add, const std::vector<InterfaceAddress>& remove,
               HostReport& report, bool record_first = false);
    bool write_record(const std::vector<IpAddress>& ips, HostReport& report);

    Transport& host_;
    std::string name_;
    std::string record_path_;
    std::shared_ptr<const std::vector<IpAddress>> desired_;
    WebPlan plan_;
};

}  // namespace lvsctl
