# Cross build for armhf (Raspberry Pi OS bookworm 32-bit) on an amd64 Debian bookworm host.
# Debian's armhf is ARMv7 with VFPv3 and Thumb-2, so the binary runs on a Pi 2, 3, 4, 5 or Zero 2
# with the 32-bit OS, not on the ARMv6 Pi 1 and Zero (W): their Raspbian archive is built for
# ARMv6, and Debian's armhf start files and libraries in the link are not.
#
#   cmake -S . -B build/armhf -DCMAKE_TOOLCHAIN_FILE=scripts/toolchain-arm-linux-gnueabihf.cmake

set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CELLGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(CELLGATE_CROSS_EMULATOR qemu-arm)
# Debian architecture name for the .deb (scripts/package.cmake).
set(CELLGATE_DEB_ARCH armhf)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
