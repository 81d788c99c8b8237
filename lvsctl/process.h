// Running a program: argv only, never a shell; input on stdin. Injected so the core's users can
// be tested, and so every command lvsctl runs is in one place.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
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
    // Runs argv to its end, or until the runner's deadline: then the command is killed, and the
    // runner throws Error (ExitCode::unreachable) naming it. A command that fails is a
    // ProcessResult.
    virtual ProcessResult run(const std::vector<std::string>& argv,
                              const std::string& input = {}) = 0;
    // The same, with `extra` time beyond the runner's deadline, for a command that is known to
    // wait (an agent draining a server's connections). A runner without a deadline ignores it.
    virtual ProcessResult run_for_longer(std::chrono::seconds extra,
                                         const std::vector<std::string>& argv,
                                         const std::string& input = {}) {
        (void)extra;
        return run(argv, input);
    }
};

// What one command may print, held in memory: its output is parsed (an agent's table at 100,000
// destinations is about 30 MiB), its errors are only shown. Runners collect through this.
class OutputLimit {
  public:
    static constexpr std::size_t kMaxOut = std::size_t{256} << 20;
    static constexpr std::size_t kMaxErr = std::size_t{64} << 10;

    // Appends to the output; false once it is over kMaxOut (the runner then stops the command
    // and fails: a cut output would be misread).
    bool out(const char* data, std::size_t size);
    // Appends to the errors, keeping the first kMaxErr bytes and counting the rest.
    void err(const char* data, std::size_t size);
    // The result, errors marked when some were dropped.
    ProcessResult finish(int status) &&;
    // "COMMAND printed more than 256 MiB"
    static std::string too_much(std::string_view command);

  private:
    ProcessResult result_;
    std::size_t dropped_ = 0;
};

}  // namespace lvsctl
