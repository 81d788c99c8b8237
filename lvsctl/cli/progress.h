// The live progress line of `update`, `plan` and `status` on a terminal (docs/commands.md,
// "Progress"), and colour for people: both only when the stream is a terminal, never with
// --json, and the progress line not with -q; colour never with NO_COLOR (no-color.org).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lvsctl/cli/app.h"
#include "lvsctl/manage/progress.h"

namespace lvsctl::cli {

// "lvsctl: cluster 7: reading hosts 12/40, 1 failed" on one line of `out`, redrawn at most every
// `interval` and when a phase completes, cleared by end(). Thread-safe.
class TerminalProgress : public Progress {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    TerminalProgress(std::ostream& out, std::string prefix, Clock clock = {},
                     std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    void begin(std::string_view phase, std::size_t total) override;
    void done(bool failed) override;
    void end() override;

  private:
    void draw();  // with mutex_ held

    std::ostream& out_;
    std::string prefix_;
    Clock clock_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::string phase_;
    std::size_t total_ = 0;
    std::size_t done_ = 0;
    // A host counts as failed in every phase after its failure: the run's failures so far are
    // the most any phase has seen.
    std::size_t phase_failed_ = 0;
    std::size_t run_failed_ = 0;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

// Where a run's time went, for -v (docs/commands.md, "Progress"): passes every call on to `inner`
// (when there is one) and notes when each phase began. summary(), at the run's end: "before the
// hosts 0.012 s (database snapshot, rendering), reading hosts (65) 0.301 s, LBs: applying (1)
// 0.104 s, after the hosts 0.006 s (the run log); total 0.423 s". Thread-safe.
class PhaseTimer : public Progress {
  public:
    using Clock = TerminalProgress::Clock;
    explicit PhaseTimer(Progress* inner, Clock clock = {});
    void begin(std::string_view phase, std::size_t total) override;
    void done(bool failed) override;
    void end() override;
    std::string summary();

  private:
    struct Phase {
        std::string name;
        std::size_t hosts = 0;
        std::chrono::steady_clock::time_point began;
    };
    Progress* inner_;
    Clock clock_;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point started_;
    std::vector<Phase> phases_;
    std::optional<std::chrono::steady_clock::time_point> hosts_done_;  // the last phase's end
};

// Whether people watch: stderr (fd 2) a terminal, no --json, not -q.
bool wants_progress(const Settings& settings, bool stderr_is_terminal);
// The progress line for a run named `prefix` ("cluster 7"), or nullptr when nobody watches.
std::unique_ptr<Progress> make_progress(const Context& ctx, const std::string& prefix);

// Colour on stdout: a terminal, no --json, NO_COLOR unset or empty.
bool wants_colour(const Settings& settings, bool stdout_is_terminal, const char* no_color);
enum class Colour { red, green, yellow };
// `text` in `colour` when `on`, else `text` as it is.
std::string paint(std::string_view text, Colour colour, bool on);
// wants_colour for this process's stdout and environment.
bool colour_on(const Context& ctx);

}  // namespace lvsctl::cli
