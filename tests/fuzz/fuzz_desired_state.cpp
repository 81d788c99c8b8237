// libFuzzer: the agent's JSON reader must accept or refuse any input without crashing, refuse
// only with a data error, and whatever it accepts must write and read back the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/protocol/desired_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    lvsctl::LbDesiredState state;
    try {
        state = lvsctl::parse_desired_state(text);
    } catch (const lvsctl::Error& e) {
        if (e.code() != lvsctl::ExitCode::data) {
            __builtin_trap();
        }
        return 0;
    }
    const auto written = lvsctl::to_json(state);
    if (lvsctl::to_json(lvsctl::parse_desired_state(written)) != written) {
        __builtin_trap();
    }
    return 0;
}
