// Running a program: argv only, never a shell; input on stdin. Injected so the core's users can
// be tested, and so every command lvsctl runs is in one place.
#pragma once

#include <string>
#include <vector>

namespace lvsctl {

struct ProcessResult {
    int status = -1;  // exit status; 128 + signal when killed
    std::string out;
    std::string err;
};

class ProcessRunner {
  public:
    virtual ~ProcessRunner() = default;
    virtual ProcessResult run(const std::vector<std::string>& argv,
                              const std::string& input = {}) = 0;
};

}  // namespace lvsctl
