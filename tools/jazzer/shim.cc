// Jazzer.js 4.0.0's prebuilt libFuzzer addon was linked against glibc 2.38 and GCC 13's
// libstdc++; Debian 12 has glibc 2.36 and GCC 12. It needs only three functions those
// lack, so we provide them, preloaded (LD_PRELOAD), and tools/jazzer/elf-versions.ts
// lets the addon accept them. Built by tools/jazzer.ts with the system's g++.
#include <cstdlib>
#include <ios>

// GCC 13's entry point that sets up std::cout and friends; older libstdc++ does it through
// a static ios_base::Init object, which is what this makes.
namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}

// glibc 2.38's C23 names for strtol and strtoul (C23 adds "0b" binary literals, which
// libFuzzer's flag parsing never sees).
extern "C" long __isoc23_strtol(const char *s, char **end, int base) { return std::strtol(s, end, base); }
extern "C" unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return std::strtoul(s, end, base); }
