#include "lvsctl/manage/lb_step.h"

#include <fmt/format.h>

#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl {

bool LbStep::apply_agent(const std::string& agent, const LbDesiredState& state,
                         HostReport& report) {
    if (!is_valid_command_path(agent) && !is_valid_program_name(agent)) {
        throw Error(ExitCode::usage,
                    fmt::format("--agent {}: not a program name or an absolute path", agent));
    }
    // The agent waits up to drain_timeout for a removed server's connections to end: its
    // deadline covers that wait, or a long drain would look like a lost LB.
    const auto result = host_.run_for_longer(std::chrono::seconds(state.drain_timeout),
                                             {agent, "agent", "apply"}, to_json(state));
    if (result.status == 127) {
        report.errors.push_back(fmt::format(
            "{}: {} agent apply: the program is not on the LB (--agent)", name_, agent));
        return false;
    }
    AgentAnswer answer;
    try {
        answer = parse_agent_answer(result.out, name_);
    } catch (const Error& e) {
        report.errors.push_back(fmt::format("{}: {} agent apply: exit status {}: {}", name_, agent,
                                            result.status,
                                            result.err.empty() ? e.what() : result.err));
        if (result.status == static_cast<int>(ExitCode::permission)) {
            report.failure = ExitCode::permission;
        }
        return false;
    }
    for (auto& d : answer.done) {
        report.done.push_back(std::move(d));
    }
    for (const auto& e : answer.errors) {
        report.errors.push_back(fmt::format("{}: {}", name_, e));
    }
    if (result.status != 0 && answer.errors.empty()) {
        report.errors.push_back(fmt::format("{}: {} agent apply: exit status {}: {}", name_, agent,
                                            result.status, result.err));
    }
    return report.errors.empty();
}

bool LbStep::install(const std::string& path, const std::string& content,
                     const std::vector<std::string>& reload, HostReport& report,
                     const std::vector<std::string>& check) {
    const auto current = host_.run({"cat", "--", path});
    if (current.status == 0 && current.out == content) {
        return true;
    }
    try {
        upload_atomically(host_, name_, path, content, 0644);
    } catch (const Error& e) {
        report.errors.push_back(e.what());
        return false;
    }
    report.done.push_back(fmt::format("write {}", path));
    for (const auto* command : {&check, &reload}) {
        if (command->empty()) {
            continue;
        }
        const auto ran = host_.run_changing(*command);
        if (ran.status == 0) {
            continue;
        }
        const auto& said = ran.err.empty() ? ran.out : ran.err;
        report.errors.push_back(fmt::format("{}: {}: exit status {}: {}", name_,
                                            shell_command(*command), ran.status, said));
        // The old file back, so that the next run sees the difference and reloads again.
        try {
            if (current.status == 0) {
                upload_atomically(host_, name_, path, current.out, 0644);
            } else {
                host_.run_changing({"rm", "-f", "--", path});
            }
            report.done.push_back(fmt::format("put back the previous {}", path));
        } catch (const Error& e) {
            report.errors.push_back(e.what());
        }
        return false;
    }
    if (!reload.empty()) {
        report.done.push_back(fmt::format("run {}", shell_command(reload)));
    }
    return true;
}

}  // namespace lvsctl
