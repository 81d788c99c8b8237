#include "lvsctl/lb/health.h"

#include <fmt/format.h>
#include <regex.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl {

// A compiled regex_t, freed with it.
struct ReplyMatcher::Regex {
    regex_t compiled{};
    explicit Regex(const std::string& expression) {
        regcomp(&compiled, expression.c_str(), REG_EXTENDED | REG_NOSUB);
    }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;
    ~Regex() { regfree(&compiled); }
};

ReplyMatcher::ReplyMatcher(std::string expect, bool use_regex)
    : expect_(std::move(expect)), use_regex_(use_regex && !expect_.empty() && expect_ != "*") {
    if (!use_regex_) {
        return;
    }
    if (auto why = regex_problem(expect_); !why.empty()) {
        throw Error(ExitCode::data, fmt::format("checks.expect: {}", why));
    }
    regex_ = std::make_unique<Regex>(expect_);  // compiles: regex_problem() said so
}

ReplyMatcher::~ReplyMatcher() = default;

bool ReplyMatcher::matches(std::string_view reply) const {
    if (expect_.empty() || expect_ == "*") {
        return true;
    }
    if (regex_ != nullptr) {
        // regexec reads a C string: a NUL in the reply ends it, as it does for nanny.
        const std::string text(reply.substr(0, reply.find('\0')));
        return regexec(&regex_->compiled, text.c_str(), 0, nullptr, 0) == 0;
    }
    return reply.starts_with(expect_);
}

namespace {

std::optional<double> number_at(std::string_view text, std::size_t& at) {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at])) != 0) {
        ++at;
    }
    const std::string rest(text.substr(at, 64));
    char* end = nullptr;
    const double value = std::strtod(rest.c_str(), &end);
    if (end == rest.c_str() || !std::isfinite(value) || value < 0) {
        return std::nullopt;
    }
    at += static_cast<std::size_t>(end - rest.c_str());
    return value;
}

bool blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::optional<double> parse_load(std::string_view output) {
    // A bare number, alone in the output.
    std::size_t at = 0;
    if (auto value = number_at(output, at); value && blank(output.substr(at))) {
        return value;
    }
    const auto load = output.find("load");
    if (load == std::string_view::npos) {
        return std::nullopt;
    }
    const auto colon = output.find(':', load);
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    at = colon + 1;
    return number_at(output, at);
}

ServerHealth::ServerHealth(std::uint32_t configured, std::optional<std::uint32_t> in_service_at)
    : configured_(configured) {
    if (in_service_at) {
        kept_ = true;
        weight_ = *in_service_at;
    }
}

ServerHealth ServerHealth::restore(Health state, std::uint32_t configured, std::uint32_t weight,
                                   bool in_service) {
    ServerHealth h(configured);
    h.state_ = state;
    h.weight_ = weight;
    h.kept_ = state == Health::unchecked && in_service;
    return h;
}

Transition ServerHealth::check(bool ok, MonitorTime now, const HealthSettings& settings) {
    if (!ok) {
        const bool was_in = in_service();
        state_ = Health::down;
        kept_ = false;
        return was_in ? Transition::taken_out : Transition::none;
    }
    switch (state_) {
        case Health::up:
            return Transition::none;
        case Health::unchecked:
            state_ = Health::up;
            last_step_ = now;
            if (kept_) {
                // In service when the monitor started: it stays as it is, no flap; a server
                // below its configured weight goes on with slow start.
                kept_ = false;
                slow_start_ = weight_ < configured_;
                return Transition::none;
            }
            // Never failed, never trusted yet: in, with slow start.
            weight_ = std::max<std::uint32_t>(1, configured_ >> 5);
            slow_start_ = weight_ < configured_;
            return Transition::made_available;
        case Health::down:
            state_ = Health::reentering;
            since_ = now;
            break;
        case Health::reentering:
            break;
    }
    if (now - since_ < settings.reentry) {
        return Transition::none;
    }
    state_ = Health::up;
    weight_ = std::max<std::uint32_t>(1, configured_ >> 5);
    slow_start_ = weight_ < configured_;
    last_step_ = now;
    return Transition::made_available;
}

Transition ServerHealth::tick(MonitorTime now, std::optional<double> load,
                              const HealthSettings& settings) {
    if (state_ != Health::up || now - last_step_ < settings.step) {
        return Transition::none;
    }
    if (slow_start_) {
        last_step_ = now;
        weight_ = std::min(configured_, std::max<std::uint32_t>(1, weight_ * 2));
        slow_start_ = weight_ < configured_;
        return Transition::weight_changed;
    }
    if (!load) {
        return Transition::none;  // the load rule waits for a load
    }
    last_step_ = now;
    if (const auto w = load_rule(weight_, configured_, *load, settings.load_scale)) {
        weight_ = *w;
        return Transition::weight_changed;
    }
    return Transition::none;
}

void ServerHealth::set_configured(std::uint32_t configured) {
    if (configured == configured_) {
        return;
    }
    configured_ = configured;
    if (state_ == Health::up || kept_) {
        if (slow_start_ && weight_ < configured) {
            return;  // goes on doubling towards the new weight
        }
        weight_ = configured;  // the load rule starts again from the database's weight
        slow_start_ = false;
    }
}

std::optional<std::uint32_t> effective_weight(std::uint32_t configured, const ServerHealth* health,
                                              bool quiesce) {
    if (health == nullptr) {
        return configured;
    }
    if (configured == 0) {
        return 0u;
    }
    if (health->in_service()) {
        return health->weight();
    }
    if (quiesce) {
        return 0u;
    }
    return std::nullopt;
}

std::optional<std::uint32_t> load_rule(std::uint32_t w, std::uint32_t c, double load,
                                       std::uint32_t scale) {
    if (c == 0 || load == 1.0) {
        return std::nullopt;
    }
    const double half = static_cast<double>(c) / 2.0;
    double next = static_cast<double>(w);
    if (load < 1.0) {
        next += half * std::cbrt(1.0 - load);
        next = std::min(next, static_cast<double>(c) * scale);
    } else {
        next -= half * std::cbrt(load - 1.0);
        next = std::max(next, static_cast<double>(c));
    }
    const auto rounded = static_cast<std::uint32_t>(std::lround(next));
    const auto moved = rounded > w ? rounded - w : w - rounded;
    if (moved == 0 || static_cast<double>(moved) < static_cast<double>(c) / 4.0) {
        return std::nullopt;
    }
    return rounded;
}

}  // namespace lvsctl
