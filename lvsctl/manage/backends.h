// The LB backends of h2e_clusters.backend (docs/database.md), behind LbBackend (update.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/manage/transport.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/process.h"
#include "lvsctl/protocol/agent_documents.h"

namespace lvsctl {

// ipvs: the agent on the LB (`AGENT agent show` to read, `AGENT agent apply` to converge).
class AgentBackend : public LbBackend {
  public:
    AgentBackend(Transport& host, std::string name, std::string agent)
        : host_(host), name_(std::move(name)), agent_(std::move(agent)) {}
    std::vector<std::string> plan(const LbDesiredState& desired) override;
    std::optional<std::vector<IpAddress>> website_ips() const override;
    std::optional<std::vector<IpAddress>> destinations() const override;
    std::optional<std::vector<ServiceInfo>> table() const override;
    bool has_monitor() const override { return true; }
    std::optional<MonitorShown> monitor() const override;
    bool apply(const LbDesiredState& desired, HostReport& report) override;
    // `agent show`'s document as plan() read it.
    const std::optional<AgentShow>& shown() const { return seen_; }

  private:
    Transport& host_;
    std::string name_;
    std::string agent_;
    std::optional<AgentShow> seen_;
    std::int64_t cluster_id_ = 0;
};

// ipvs with ha = vrrp (docs/ha.md): the agent programs IPVS and the marks as AgentBackend does,
// but places no website IP; keepalived's VRRP does, from a VRRP-only keepalived.conf rendered for
// the website IPs this LB may serve now (held back as update holds them back), replaced when it
// differs, checked with `keepalived -t`, then reloaded (started when keepalived is not running).
// A website IP is marked before keepalived.conf names it, and keeps its mark until keepalived.conf
// no longer does.
class VrrpBackend : public LbBackend {
  public:
    using Render = std::function<std::string(const std::vector<IpAddress>& website_ips)>;
    VrrpBackend(Transport& host, std::string name, std::string agent, Render render)
        : host_(host),
          name_(name),
          agent_(host, std::move(name), std::move(agent)),
          render_(std::move(render)) {}
    std::vector<std::string> plan(const LbDesiredState& desired) override;
    // The website IPs keepalived.conf names now (its lvsctl header), std::nullopt when unknown.
    std::optional<std::vector<IpAddress>> website_ips() const override { return named_; }
    std::optional<std::vector<IpAddress>> destinations() const override {
        return agent_.destinations();
    }
    std::optional<std::vector<ServiceInfo>> table() const override { return agent_.table(); }
    bool has_monitor() const override { return true; }
    std::optional<MonitorShown> monitor() const override { return agent_.monitor(); }
    std::optional<HaShown> ha() const override;
    bool apply(const LbDesiredState& desired, HostReport& report) override;

  private:
    std::string content(const LbDesiredState& desired) const;

    Transport& host_;
    std::string name_;
    AgentBackend agent_;
    Render render_;
    std::optional<std::string> current_;  // keepalived.conf as plan() read it
    std::optional<std::vector<IpAddress>> named_;
    bool running_ = false;  // keepalived, as plan() found it
    std::int64_t cluster_id_ = 0;
};

// The lines lvsctl writes first in a VRRP keepalived.conf, naming its website IPs, so that the
// next run knows what the LB serves whatever the provider's template looks like; and their reader
// (std::nullopt when the text has no complete header).
std::string vrrp_header(const std::vector<IpAddress>& website_ips);
std::optional<std::vector<IpAddress>> parse_vrrp_header(std::string_view text);

// piranha and keepalived: a rendered file replaced on the LB, then the daemon reloaded.
class FileBackend : public LbBackend {
  public:
    FileBackend(Transport& host, std::string name, std::string path, std::string content,
                std::vector<std::string> reload)
        : host_(host),
          name_(std::move(name)),
          path_(std::move(path)),
          content_(std::move(content)),
          reload_(std::move(reload)) {}
    std::vector<std::string> plan(const LbDesiredState& desired) override;
    bool apply(const LbDesiredState& desired, HostReport& report) override;

  private:
    Transport& host_;
    std::string name_, path_, content_;
    std::vector<std::string> reload_;
};

// exec:/path: a provider's program on this (the management) node, given the LB's desired state
// on stdin as `PROGRAM plan` or `PROGRAM apply`; it answers as the agent does
// (docs/agent-protocol.md).
class ExecBackend : public LbBackend {
  public:
    ExecBackend(ProcessRunner& local, std::string name, std::string program)
        : local_(local), name_(std::move(name)), program_(std::move(program)) {}
    std::vector<std::string> plan(const LbDesiredState& desired) override;
    bool apply(const LbDesiredState& desired, HostReport& report) override;

  private:
    ProcessRunner& local_;
    std::string name_, program_;
};

// Where piranha and keepalived keep their configuration, and how they are told to reload it.
constexpr const char* kPiranhaConfig = "/etc/sysconfig/ha/lvs.cf";
constexpr const char* kKeepalivedConfig = "/etc/keepalived/keepalived.conf";
std::vector<std::string> piranha_reload();     // service pulse reload
std::vector<std::string> keepalived_reload();  // service keepalived reload
std::vector<std::string> keepalived_start();   // service keepalived start
std::vector<std::string> keepalived_status();  // service keepalived status: 0 when it runs
std::vector<std::string> keepalived_check();   // keepalived -t: the file as keepalived reads it

// The registry: what each kind of backend needs, and the one place that makes them.
struct BackendContext {
    ProcessRunner& local;  // where exec: programs run (this node)
    std::string agent;     // --agent: the lvsctl program on the LBs
    std::string lvs_cf;    // the rendered files the file backends upload
    std::string keepalived;
    // ipvs clusters with ha = vrrp: the template's keepalived.conf for one of the cluster's LBs.
    // Set once: backends are made from several threads at once.
    std::function<std::string(const Cluster& cluster, const LoadBalancer& lb,
                              const std::vector<IpAddress>& website_ips)>
        keepalived_vrrp;
};
// Whether the backend reaches its LBs over SSH (exec: programs drive their balancer themselves).
bool uses_ssh(BackendKind kind);
// The rendered files the backend uploads: lvs.cf for piranha, keepalived.conf for keepalived.
bool needs_lvs_cf(BackendKind kind);
bool needs_keepalived_conf(BackendKind kind);
// Whether `status` can read the LB's IPVS table (through the lvsctl agent).
bool shows_table(BackendKind kind);
// The backend of `spec` for one LB named `name`, over `host` (nullptr when !uses_ssh).
std::unique_ptr<LbBackend> make_backend(const BackendSpec& spec, Transport* host,
                                        const std::string& name, BackendContext& context);
// The backend of `lb` of `cluster` (validated): VrrpBackend for a cluster that uses_vrrp(), else
// make_backend()'s.
std::unique_ptr<LbBackend> make_backend(const Cluster& cluster, const LoadBalancer& lb,
                                        Transport* host, const std::string& name,
                                        BackendContext& context);

}  // namespace lvsctl
