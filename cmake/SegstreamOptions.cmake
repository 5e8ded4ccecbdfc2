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

find_package(Git QUIET)
set(SEGSTREAM_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(SEGSTREAM_GIT_COMMIT ${_commit})
  endif()
endif()
