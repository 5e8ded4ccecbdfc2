# Run with cmake -P at every build: writes OUT from IN with the current git commit (suffixed -dirty when
# the tree has uncommitted changes), touching OUT only when its text changes, so provenance recorded in
# outputs is never stale and nothing recompiles needlessly.
set(SEGSTREAM_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS ${SRC}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0 AND _commit)
    set(SEGSTREAM_GIT_COMMIT ${_commit})
    execute_process(COMMAND ${GIT_EXECUTABLE} diff --quiet HEAD -- WORKING_DIRECTORY ${SRC} RESULT_VARIABLE _dirty)
    if(NOT _dirty EQUAL 0)
      string(APPEND SEGSTREAM_GIT_COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file(${IN} ${OUT}.new @ONLY)
file(COPY_FILE ${OUT}.new ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.new)
