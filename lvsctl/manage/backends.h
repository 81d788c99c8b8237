// The LB backends of h2e_clusters.backend (docs/database.md), behind LbBackend (update.h).
#pragma once

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

  private:
    Transport& host_;
    std::string name_;
    std::string agent_;
    std::optional<AgentShow> seen_;
    std::int64_t cluster_id_ = 0;
};

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

// The registry: what each kind of backend needs, and the one place that makes them.
struct BackendContext {
    ProcessRunner& local;  // where exec: programs run (this node)
    std::string agent;     // --agent: the lvsctl program on the LBs
    std::string lvs_cf;    // the rendered files the file backends upload
    std::string keepalived;
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

}  // namespace lvsctl
