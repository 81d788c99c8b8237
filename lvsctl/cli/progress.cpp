#include "lvsctl/cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace lvsctl::cli {

namespace {
constexpr std::string_view kClearLine = "\r\x1b[K";
}  // namespace

TerminalProgress::TerminalProgress(std::ostream& out, std::string prefix, Clock clock,
                                   std::chrono::milliseconds interval)
    : out_(out),
      prefix_(std::move(prefix)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      interval_(interval) {}

void TerminalProgress::begin(std::string_view phase, std::size_t total) {
    const std::lock_guard lock(mutex_);
    phase_ = std::string(phase);
    total_ = total;
    done_ = 0;
    run_failed_ = std::max(run_failed_, phase_failed_);
    phase_failed_ = 0;
    draw();
}

void TerminalProgress::done(bool failed) {
    const std::lock_guard lock(mutex_);
    ++done_;
    if (failed) {
        ++phase_failed_;
    }
    if (done_ == total_ || clock_() - last_ >= interval_) {
        draw();
    }
}

void TerminalProgress::end() {
    const std::lock_guard lock(mutex_);
    if (shown_) {
        out_ << kClearLine << std::flush;
        shown_ = false;
    }
}

void TerminalProgress::draw() {
    last_ = clock_();
    out_ << kClearLine << "lvsctl: " << prefix_ << ": " << phase_ << ' ' << done_ << '/' << total_;
    if (const auto failed = std::max(run_failed_, phase_failed_); failed > 0) {
        out_ << ", " << failed << " failed";
    }
    out_ << std::flush;
    shown_ = true;
}

bool wants_progress(const Settings& settings, bool stderr_is_terminal) {
    return stderr_is_terminal && !settings.json && settings.verbosity >= 0;
}

PhaseTimer::PhaseTimer(Progress* inner, Clock clock)
    : inner_(inner),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }),
      started_(clock_()) {}

void PhaseTimer::begin(std::string_view phase, std::size_t total) {
    {
        const std::lock_guard lock(mutex_);
        phases_.push_back({std::string(phase), total, clock_()});
    }
    if (inner_ != nullptr) {
        inner_->begin(phase, total);
    }
}

void PhaseTimer::done(bool failed) {
    if (inner_ != nullptr) {
        inner_->done(failed);
    }
}

void PhaseTimer::end() {
    {
        const std::lock_guard lock(mutex_);
        hosts_done_ = clock_();
    }
    if (inner_ != nullptr) {
        inner_->end();
    }
}

std::string PhaseTimer::summary() {
    const std::lock_guard lock(mutex_);
    const auto now = clock_();
    const auto secs = [](auto from, auto to) {
        return std::chrono::duration<double>(to - from).count();
    };
    const auto first = phases_.empty() ? hosts_done_.value_or(now) : phases_.front().began;
    std::string out = fmt::format("before the hosts {:.3f} s (database snapshot, rendering)",
                                  secs(started_, first));
    for (std::size_t i = 0; i < phases_.size(); ++i) {
        const auto until =
            i + 1 < phases_.size() ? phases_[i + 1].began : hosts_done_.value_or(now);
        fmt::format_to(std::back_inserter(out), ", {} ({}) {:.3f} s", phases_[i].name,
                       phases_[i].hosts, secs(phases_[i].began, until));
    }
    if (hosts_done_) {
        fmt::format_to(std::back_inserter(out), ", after the hosts {:.3f} s (the run log)",
                       secs(*hosts_done_, now));
    }
    fmt::format_to(std::back_inserter(out), "; total {:.3f} s", secs(started_, now));
    return out;
}

std::unique_ptr<Progress> make_progress(const Context& ctx, const std::string& prefix) {
    if (!wants_progress(ctx.settings, isatty(STDERR_FILENO) == 1)) {
        return nullptr;
    }
    return std::make_unique<TerminalProgress>(ctx.err, prefix);
}

bool wants_colour(const Settings& settings, bool stdout_is_terminal, const char* no_color) {
    return stdout_is_terminal && !settings.json && (no_color == nullptr || *no_color == '\0');
}

std::string paint(std::string_view text, Colour colour, bool on) {
    if (!on) {
        return std::string(text);
    }
    const char* code = colour == Colour::red ? "31;1" : colour == Colour::green ? "32" : "33";
    return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

bool colour_on(const Context& ctx) {
    return wants_colour(ctx.settings, isatty(STDOUT_FILENO) == 1, std::getenv("NO_COLOR"));
}

}  // namespace lvsctl::cli
