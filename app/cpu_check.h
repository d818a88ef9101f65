// The check, at start, that this CPU has the instruction sets the build was tuned for.
#pragma once

#include <string>

namespace lsi {

// Returns an empty string when the CPU supports every instruction set that the compiler was
// allowed to use (-march=native on the build machine), else a message naming the missing ones
// and how to build a portable binary.
std::string missing_cpu_features();

}  // namespace lsi
