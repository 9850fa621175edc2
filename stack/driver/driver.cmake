# The driver: TUN device, libuv loop, pcap, trace, fault injection.
# Included from the top-level CMakeLists.txt after the engine and the
# TT_TESTS block:   include(stack/driver/driver.cmake)
# The only code that includes <uv.h> or makes system calls; the engine
# library stays free of both.

find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
find_package(Threads REQUIRED) # --queues: a thread per TUN queue (queues.c)

set(TT_DRV_DIR ${CMAKE_CURRENT_LIST_DIR})

add_library(tuntcp_driver STATIC
  ${TT_DRV_DIR}/tun.c
  ${TT_DRV_DIR}/offload.c
  ${TT_DRV_DIR}/loop.c
  ${TT_DRV_DIR}/pcap.c
  ${TT_DRV_DIR}/pcapng.c
  ${TT_DRV_DIR}/capnote.c
  ${TT_DRV_DIR}/capture.c
  ${TT_DRV_DIR}/trace.c
  ${TT_DRV_DIR}/fault.c
  ${TT_DRV_DIR}/inject.c
  ${TT_DRV_DIR}/pktq.c
  ${TT_DRV_DIR}/pump.c
  ${TT_DRV_DIR}/runout.c
  ${TT_DRV_DIR}/queues.c
  ${TT_DRV_DIR}/report.c
  ${TT_DRV_DIR}/duration.c
  ${TT_DRV_DIR}/boot_key.c
  ${TT_DRV_DIR}/ctl.c
  ${TT_DRV_DIR}/ctl_proto.c
  ${TT_DRV_DIR}/ctl_cmd.c
  ${TT_DRV_DIR}/ctl_ss.c
  ${TT_DRV_DIR}/ctl_nstat.c
  ${TT_DRV_DIR}/ctl_sysctl.c
  ${TT_DRV_DIR}/ctl_files.c
  ${TT_DRV_DIR}/ctl_qdisc.c
  ${TT_DRV_DIR}/sysctl.c
)
target_include_directories(tuntcp_driver
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${TT_DRV_DIR} ${TT_ENGINE_DIR}) # the engine's wire parsers, for --fault
target_link_libraries(tuntcp_driver PUBLIC tuntcp_engine PkgConfig::LIBUV Threads::Threads)
set_target_properties(tuntcp_driver PROPERTIES POSITION_INDEPENDENT_CODE ON
  EXPORT_NAME driver_static)
if(NOT TT_FUZZ)
  # libtuntcp_driver.so.MAJOR: its public headers need nothing of libuv's.
  add_library(tuntcp_driver_shared SHARED $<TARGET_OBJECTS:tuntcp_driver>)
  target_include_directories(tuntcp_driver_shared PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(tuntcp_driver_shared PUBLIC tuntcp_engine_shared PRIVATE PkgConfig::LIBUV Threads::Threads)
  set_target_properties(tuntcp_driver_shared PROPERTIES OUTPUT_NAME tuntcp_driver
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR} EXPORT_NAME driver)
endif()

if(TT_TESTS)
  # Named drv_test_* so that the engine-only glob over tests/unit/test_*.c
  # does not pick them up: they also need the driver library.
  foreach(name drv_test_fault drv_test_inject drv_test_pcap drv_test_pcapng drv_test_trace
               drv_test_pktq drv_test_pump drv_test_runout drv_test_offload drv_test_report drv_test_tun drv_test_boot_key drv_test_ctl
               drv_test_queues)
    add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/unit/${name}.c)
    target_include_directories(${name} PRIVATE ${TT_DRV_DIR} ${TT_ENGINE_DIR})
    target_link_libraries(${name} PRIVATE tuntcp_driver PkgConfig::CMOCKA)
    add_test(NAME unit/${name} COMMAND ${name})
  endforeach()
endif()
