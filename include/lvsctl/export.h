/// \file
/// LVSCTL_API marks what liblvsctl exports. Everything else in the library is hidden
/// (-fvisibility=hidden and a version script: docs/library.md, "ABI").
#pragma once

/// Marks a class or function that liblvsctl exports: default visibility.
#define LVSCTL_API __attribute__((visibility("default")))
