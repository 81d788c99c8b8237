// For tests that look at the system with ordinary tools (ip, ipvsadm, the harnesses' control
// commands): run a shell command line on the test's side and take its output.
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>

namespace lvsctl::testing {

enum class Status { must_succeed, any };

// The command's standard output. With Status::must_succeed (the default), an exit status other
// than 0 fails the test, naming the command and what it printed.
inline std::string shell(const std::string& command, Status status = Status::must_succeed) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buffer{};
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) {
        out.append(buffer.data(), n);
    }
    const int exit_status = ::pclose(pipe);
    if (status == Status::must_succeed) {
        INFO(command << " -> " << out);
        REQUIRE(exit_status == 0);
    }
    return out;
}

}  // namespace lvsctl::testing
