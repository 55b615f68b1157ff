# Cross build of panamacnn.dll for Windows x86-64 with Debian's mingw-w64
# (apt-get install mingw-w64). Used by scripts/cross-windows.sh:
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchain-x86_64-w64-mingw32.cmake
# The *-win32 compiler variant uses Win32 threads for its own runtime, so neither libgcc nor
# the library pulls in libwinpthread-1.dll (the library's threads are Win32 threads too).
# Tests run under wine64 when it is installed (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(PCNN_MINGW_PREFIX x86_64-w64-mingw32)
find_program(PCNN_MINGW_CC NAMES ${PCNN_MINGW_PREFIX}-gcc-win32 ${PCNN_MINGW_PREFIX}-gcc)
if(NOT PCNN_MINGW_CC)
  message(FATAL_ERROR "x86_64-w64-mingw32-gcc not found: install Debian's mingw-w64 "
                      "(apt-get install mingw-w64)")
endif()
set(CMAKE_C_COMPILER ${PCNN_MINGW_CC})
find_program(PCNN_MINGW_CXX NAMES ${PCNN_MINGW_PREFIX}-g++-win32 ${PCNN_MINGW_PREFIX}-g++)
if(PCNN_MINGW_CXX)
  set(CMAKE_CXX_COMPILER ${PCNN_MINGW_CXX})
endif()
set(CMAKE_RC_COMPILER ${PCNN_MINGW_PREFIX}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${PCNN_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

find_program(PCNN_WINE NAMES wine64 wine PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(PCNN_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PCNN_WINE})
endif()
