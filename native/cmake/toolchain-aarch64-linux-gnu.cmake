# Cross-compiling panama-cnn for Linux AArch64 with Debian's cross tool chain:
#   apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-aarch64-linux-gnu.cmake
# (scripts/cross-aarch64.sh does configure + build + ctest.)
#
# Tests (ctest) run the AArch64 executables through qemu-aarch64 (user-mode emulation) with
# the cross sysroot as its library prefix, so `ctest` works unchanged on an x86-64 host.
# Override the prefixes with -DPCNN_AARCH64_TRIPLE=... / -DPCNN_AARCH64_SYSROOT=... if your
# tool chain is named differently.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(PCNN_AARCH64_TRIPLE "aarch64-linux-gnu" CACHE STRING "cross tool prefix (<triple>-gcc)")
set(PCNN_AARCH64_SYSROOT "/usr/${PCNN_AARCH64_TRIPLE}" CACHE PATH "target libraries (qemu -L)")

set(CMAKE_C_COMPILER ${PCNN_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PCNN_AARCH64_TRIPLE}-g++)

set(CMAKE_FIND_ROOT_PATH ${PCNN_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(PCNN_QEMU_AARCH64 qemu-aarch64)
if(PCNN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PCNN_QEMU_AARCH64} -L ${PCNN_AARCH64_SYSROOT})
endif()
