# What `cmake --install build --prefix P` puts under P, so that a program of
# one's own can be built on the engine (and the driver) without this tree:
#   include/tuntcp/*.h                      the public API
#   lib/libtuntcp_engine.{a,so.0}          the pure protocol engine
#   lib/libtuntcp_driver.{a,so.0}          TUN device, libuv loop, pcap, trace
#   lib/pkgconfig/tuntcp.pc                 engine and driver (pkg-config tuntcp)
#   lib/pkgconfig/tuntcp-engine.pc          the engine alone, no libuv
#   lib/cmake/tuntcp/                       find_package(tuntcp): tuntcp::engine,
#                                           tuntcp::driver (shared), *_static
#   bin/echo-server, bin/echo-client, bin/tuntcp-ctl
# Included from the top-level CMakeLists.txt once every target exists.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tuntcp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS tuntcp_engine tuntcp_engine_shared tuntcp_driver tuntcp_driver_shared
        EXPORT tuntcpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS echo-server echo-client tuntcp-ctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(TT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tuntcp)
install(EXPORT tuntcpTargets NAMESPACE tuntcp:: DESTINATION ${TT_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tuntcpConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tuntcpConfig.cmake INSTALL_DESTINATION ${TT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tuntcpConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tuntcpConfig.cmake
        ${CMAKE_CURRENT_BINARY_DIR}/tuntcpConfigVersion.cmake DESTINATION ${TT_CMAKE_DIR})

# pkg-config: the prefix is found from the .pc file's own place, so that
# `cmake --install --prefix P` (chosen after configuring) and a moved tree
# both work.
file(RELATIVE_PATH TT_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
foreach(pc tuntcp tuntcp-engine)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
