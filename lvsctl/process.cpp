#include "lvsctl/process.h"

#include <fmt/format.h>

namespace lvsctl {

bool OutputLimit::out(const char* data, std::size_t size) {
    if (result_.out.size() + size > kMaxOut) {
        return false;
    }
    result_.out.append(data, size);
    return true;
}

void OutputLimit::err(const char* data, std::size_t size) {
    const auto room = kMaxErr - std::min(kMaxErr, result_.err.size());
    const auto kept = std::min(room, size);
    result_.err.append(data, kept);
    dropped_ += size - kept;
}

ProcessResult OutputLimit::finish(int status) && {
    result_.status = status;
    if (dropped_ > 0) {
        result_.err += fmt::format("\n[{} more bytes of errors not kept]", dropped_);
    }
    return std::move(result_);
}

std::string OutputLimit::too_much(std::string_view command) {
    return fmt::format("{} printed more than {} MiB; stopped", command, kMaxOut >> 20);
}

}  // namespace lvsctl
