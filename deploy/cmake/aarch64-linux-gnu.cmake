# CMake toolchain for Debian multiarch cross builds to arm64 (aarch64-linux-gnu), used by
# scripts/cross-arm64.sh. Needs crossbuild-essential-arm64, the :arm64 -dev packages and, to run
# what it builds (tests, catch_discover_tests), qemu-user-static.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu of the host, headers in /usr/include,
# so the root is the host's /; CMAKE_LIBRARY_ARCHITECTURE makes find_library/find_package look in the
# arm64 directories. Programs (protoc!) are always the host's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must read the arm64 .pc files only, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})

# Runs arm64 binaries at build time (catch_discover_tests) and in ctest. No -L: the arm64 loader and
# libraries are installed by multiarch in the host's / (/lib/ld-linux-aarch64.so.1,
# /usr/lib/aarch64-linux-gnu), where qemu finds them. A non-multiarch sysroot would instead need
# QEMU_LD_PREFIX=/usr/aarch64-linux-gnu in the environment.
find_program(LOOPGATE_QEMU_AARCH64 qemu-aarch64-static)
if(LOOPGATE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LOOPGATE_QEMU_AARCH64})
endif()

# The protobuf code generator runs on the build machine.
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")
