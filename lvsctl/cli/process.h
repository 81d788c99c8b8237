// lvsctl::ProcessRunner for this machine: posix_spawnp, no shell, stdin/stdout/stderr on pipes,
// every command in a process group of its own that is killed at the runner's deadline.
#pragma once

#include <chrono>

#include "lvsctl/process.h"

namespace lvsctl::cli {

class SpawnRunner : public ProcessRunner {
  public:
    enum class Environment {
        inherit,  // the program's own environment
        // PATH, HOME, LANG, LC_*, TZ, TMPDIR, USER, LOGNAME and the program's own settings,
        // LVSCTL_EXEC_*, only: a provider's program (exec: backends) sees no database or SSH
        // credentials of ours.
        minimal,
    };
    explicit SpawnRunner(std::chrono::seconds timeout = std::chrono::seconds(120),
                         Environment environment = Environment::inherit)
        : timeout_(timeout), environment_(environment) {}

    ProcessResult run(const std::vector<std::string>& argv, const std::string& input = {}) override;
    ProcessResult run_for_longer(std::chrono::seconds extra, const std::vector<std::string>& argv,
                                 const std::string& input = {}) override;

  private:
    ProcessResult run_until(std::chrono::seconds limit, const std::vector<std::string>& argv,
                            const std::string& input);

    std::chrono::seconds timeout_;
    Environment environment_;
};

// Ignores SIGPIPE for the whole program, once, before any thread starts: a command that stops
// reading its input, or a database or SSH peer that goes away, must be an error, not our end.
void ignore_sigpipe();

}  // namespace lvsctl::cli
