// lvsctl::ProcessRunner for this machine: posix_spawnp, no shell, stdin/stdout/stderr on pipes.
#pragma once

#include "lvsctl/process.h"

namespace lvsctl::cli {

class SpawnRunner : public ProcessRunner {
  public:
    ProcessResult run(const std::vector<std::string>& argv, const std::string& input = {}) override;
};

}  // namespace lvsctl::cli
