# Cross build for arm64 (Raspberry Pi OS bookworm 64-bit) on an amd64 Debian bookworm host.
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=scripts/toolchain-aarch64-linux-gnu.cmake

set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CELLGATE_CROSS_TRIPLET aarch64-linux-gnu)
set(CELLGATE_CROSS_EMULATOR qemu-aarch64)
# Debian architecture name for the .deb (scripts/package.cmake).
set(CELLGATE_DEB_ARCH arm64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
