# Cross build for arm64 (Raspberry Pi OS bookworm 64-bit) on an amd64 Debian bookworm host, with
# Debian's cross compiler (g++-aarch64-linux-gnu) and multiarch :arm64 -dev packages: headers in
# /usr/include, libraries in /usr/lib/aarch64-linux-gnu, so no separate sysroot. Used by
# scripts/build-arm64, which installs all of it.
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=scripts/toolchain-aarch64-linux-gnu.cmake

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# find_library()/find_package() search the multiarch directory of the target, not the host's.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config must only see the target's .pc files (plus the architecture-independent ones).
set(PKG_CONFIG_EXECUTABLE pkg-config CACHE FILEPATH "")
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Test binaries run under qemu-user (package qemu-user); the target's loader and libraries are
# the multiarch ones, so no -L prefix is needed. gtest_discover_tests() uses this too.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

# Debian architecture name for the .deb (scripts/package.cmake).
set(CELLGATE_DEB_ARCH arm64)
