# Per-compiler and per-OS settings for native/CMakeLists.txt (included from there).
# Sets:
#   PCNN_PROC            target processor (lower case; on macOS from CMAKE_OSX_ARCHITECTURES)
#   PCNN_AVX2_FLAGS      flags for the *-avx2.c translation units
#   PCNN_AVX512_FLAGS    flags for the *-avx512.c translation units
#   PCNN_LIB_FLAGS       flags for every library translation unit
#   PCNN_TEST_FLAGS      flags for the C tests
#   PCNN_SYSTEM_LIBS     libraries the library and tests link against
#   PCNN_SHARED_LINK_FLAGS  link flags of the shipped shared library
#
# Built and tested here: Linux (gcc) and Windows x86-64 through MinGW-w64 (gcc, run under
# wine). Written but NOT built here (no such tool chain on this machine): MSVC / clang-cl and
# macOS (Apple clang); see docs/platforms.md.

# ---- target processor --------------------------------------------------------------------
if(APPLE AND CMAKE_OSX_ARCHITECTURES)
  list(LENGTH CMAKE_OSX_ARCHITECTURES pcnn_narch)
  if(pcnn_narch GREATER 1)
    # The x86-64 kernels are compiled with -mavx2 / -mavx512f per file, which an arm64
    # slice cannot take: build one architecture per build tree and join them with lipo.
    message(FATAL_ERROR "panamacnn: build one architecture per build tree "
        "(-DCMAKE_OSX_ARCHITECTURES=x86_64 or =arm64) and join the two dylibs with "
        "'lipo -create'; got CMAKE_OSX_ARCHITECTURES=${CMAKE_OSX_ARCHITECTURES}")
  endif()
  string(TOLOWER "${CMAKE_OSX_ARCHITECTURES}" PCNN_PROC)
endif()

# ---- compiler flags ----------------------------------------------------------------------
if(MSVC)
  # cl.exe or clang-cl. /arch:AVX2 and /arch:AVX512 per translation unit, like -mavx2 on gcc;
  # /fp:precise keeps "multiply, round, add, round" (no fast-math). The sources use GCC
  # builtins (__atomic_*, __builtin_*_overflow) and __attribute__, which clang-cl accepts and
  # cl.exe does not: use clang-cl (Visual Studio's "ClangCL" tool set, cmake -T ClangCL).
  set(PCNN_AVX2_FLAGS /arch:AVX2)
  set(PCNN_AVX512_FLAGS /arch:AVX512)
  set(PCNN_LIB_FLAGS /O2 /fp:precise /W3)
  set(PCNN_TEST_FLAGS /O2 /fp:precise)
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    # clang contracts a*b+c into fma by default; the scalar semantics forbid it
    list(APPEND PCNN_LIB_FLAGS /clang:-ffp-contract=off)
    list(APPEND PCNN_TEST_FLAGS /clang:-ffp-contract=off)
  else()
    message(WARNING "panamacnn: cl.exe lacks the GCC builtins the sources use; "
                    "configure with -T ClangCL (clang-cl) instead")
  endif()
else()
  # gcc / clang, also MinGW-w64 and Apple clang
  set(PCNN_AVX2_FLAGS -mavx2 -mfma)
  set(PCNN_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma)
  # -ffp-contract=off: no implicit a*b+c -> fma contraction (the AVX files are built with
  # -mfma); the scalar semantics are "multiply, round, add, round" like the Java reference.
  # Intrinsics (_mm*_fmadd_ps) are unaffected.
  set(PCNN_LIB_FLAGS -O3 -fvisibility=hidden -fno-strict-aliasing -ffp-contract=off
      -Wall -Wextra)
  set(PCNN_TEST_FLAGS -O2 -ffp-contract=off -Wall -Wextra)
endif()

# ---- system libraries and link flags -----------------------------------------------------
set(PCNN_SHARED_LINK_FLAGS "")
if(WIN32)
  # Win32 threads (core/platform-win32.c): kernel32 only, linked by default.
  set(PCNN_SYSTEM_LIBS "")
  if(MINGW)
    # libgcc linked in statically: the DLL then needs only system DLLs (kernel32, msvcrt).
    list(APPEND PCNN_SHARED_LINK_FLAGS -static-libgcc -Wl,--no-undefined)
  endif()
else()
  find_package(Threads REQUIRED)
  set(PCNN_SYSTEM_LIBS Threads::Threads m)
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    list(APPEND PCNN_SHARED_LINK_FLAGS -Wl,--no-undefined)
  elseif(APPLE)
    list(APPEND PCNN_SHARED_LINK_FLAGS -Wl,-undefined,error)
  endif()
endif()

# Sets the platform's file name and identity on the shipped library target.
function(pcnn_platform_library_properties target)
  if(WIN32)
    # panamacnn.dll (MinGW would name it libpanamacnn.dll), the name the Java loader expects
    set_target_properties(${target} PROPERTIES PREFIX "" IMPORT_PREFIX "")
  elseif(APPLE)
    # libpanamacnn.dylib with install name @rpath/libpanamacnn.dylib (-install_name)
    set_target_properties(${target} PROPERTIES MACOSX_RPATH ON INSTALL_NAME_DIR "@rpath")
  endif()
endfunction()
