# Shared part of the cross toolchain files (toolchain-<triplet>.cmake set CELLGATE_CROSS_TRIPLET,
# CMAKE_SYSTEM_PROCESSOR, the qemu-user emulator and the Debian architecture, then include this).
# Debian's cross compiler (g++-<triplet>) and multiarch :<arch> -dev packages on an amd64 Debian
# bookworm host: headers in /usr/include, libraries in /usr/lib/<triplet>, so no separate sysroot.
# scripts/build-arm64 installs all of it.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CELLGATE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${CELLGATE_CROSS_TRIPLET}-g++)
# find_library()/find_package() search the multiarch directory of the target, not the host's.
set(CMAKE_LIBRARY_ARCHITECTURE ${CELLGATE_CROSS_TRIPLET})

# pkg-config must only see the target's .pc files (plus the architecture-independent ones).
set(PKG_CONFIG_EXECUTABLE pkg-config CACHE FILEPATH "")
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${CELLGATE_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Test binaries run under qemu-user (package qemu-user); the target's loader and libraries are
# the multiarch ones, so no -L prefix is needed. gtest_discover_tests() uses this too.
set(CMAKE_CROSSCOMPILING_EMULATOR ${CELLGATE_CROSS_EMULATOR})
