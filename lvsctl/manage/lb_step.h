// A load balancer's part of an update, over a Transport: the agent (`lvsctl agent apply`) given
// the LB's desired state on stdin, and configuration files (lvs.cf, keepalived.conf) replaced
// atomically and the daemon reloaded only when their content changes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/manage/transport.h"
#include "lvsctl/manage/web_step.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/protocol/desired_state.h"

namespace lvsctl {

class LbStep {
  public:
    LbStep(Transport& host, std::string name) : host_(host), name_(std::move(name)) {}

    // Runs `agent agent apply` with `state` on stdin. `agent` must pass is_valid_command_path()
    // or be a bare program name. Returns false when the agent failed or reported errors.
    bool apply_agent(const std::string& agent, const LbDesiredState& state, HostReport& report);

    // Replaces `path` with `content` when it differs (mode kept, else 0644), then runs `check`
    // (argv, when not empty: the daemon's own test of the new file) and `reload` (argv, when not
    // empty). When either fails the previous file is put back. Returns false when something
    // failed.
    bool install(const std::string& path, const std::string& content,
                 const std::vector<std::string>& reload, HostReport& report,
                 const std::vector<std::string>& check = {});

  private:
    Transport& host_;
    std::string name_;
};

}  // namespace lvsctl
