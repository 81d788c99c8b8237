// This machine as a Transport: the commands lvsctl sends to hosts, run for real by a local shell
// (with stubs first on PATH where a test must not touch the machine's own network), and an input
// that can be cut short, as when the connection drops in the middle of a command's input.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>

#include "lvsctl/cli/process.h"
#include "lvsctl/manage/transport.h"

namespace lvsctl::testing {

class LocalHost : public Transport {
  public:
    std::size_t cut_input_at = std::string::npos;
    std::string cut_only;  // a script's name ($0 of `sh -c`): cut that command's input alone
    ProcessResult run(const std::vector<std::string>& argv, const std::string& input) override {
        const bool cut = cut_only.empty() || (argv.size() > 3 && argv[3] == cut_only);
        return runner_.run(argv,
                           cut ? input.substr(0, std::min(cut_input_at, input.size())) : input);
    }

  private:
    cli::SpawnRunner runner_{std::chrono::seconds(30)};
};

}  // namespace lvsctl::testing
