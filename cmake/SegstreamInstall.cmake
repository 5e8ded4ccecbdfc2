# `cmake --install` exports the libraries as segstream:: targets; consumers call find_package(segstream).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_targets segstream_core segstream_io segstream_kernels_cpu segstream_kernels segstream_host)
if(SEGSTREAM_HAVE_CUDA)
  list(APPEND _targets segstream_kernels_cuda)
endif()
install(TARGETS ${_targets} segstream_warnings segstream_sanitize
        EXPORT segstreamTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS segstream RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT segstreamTargets NAMESPACE segstream:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/segstream)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/segstreamConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/segstreamConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/segstream)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/segstreamConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/segstreamConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/segstreamConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/segstream)
