# Compiler warnings, sanitizers and the build's provenance (version and git commit).

add_library(segstream_warnings INTERFACE)
target_compile_options(segstream_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
                            -Wnull-dereference -Wimplicit-fallthrough>
  # GCC 12 reports -Wrestrict false positives inside libstdc++'s string concatenation (GCC bug 105329).
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-restrict>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${SEGSTREAM_WARNINGS_AS_ERRORS}>>:-Werror>)

# SEGSTREAM_SANITIZE=address,undefined builds host code (C++ only, never device code) with ASan/UBSan.
add_library(segstream_sanitize INTERFACE)
if(SEGSTREAM_SANITIZE)
  set(_san "-fsanitize=${SEGSTREAM_SANITIZE}")
  target_compile_options(segstream_sanitize INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(segstream_sanitize INTERFACE ${_san})
endif()
