# The engine: pure protocol code (stack/engine/README.md). It must not link
# libuv nor make syscalls; the unit tests link only this library, so a stray
# dependency breaks the build. Its include path is this folder and include/
# alone: no driver header can be reached from here.
# Included from the top-level CMakeLists.txt:   include(stack/engine/engine.cmake)
set(TT_ENGINE_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(tuntcp_engine STATIC
  ${TT_ENGINE_DIR}/checksum.c
  ${TT_ENGINE_DIR}/ipv4.c
  ${TT_ENGINE_DIR}/tcp_wire.c
  ${TT_ENGINE_DIR}/timer.c
  ${TT_ENGINE_DIR}/services.c
  ${TT_ENGINE_DIR}/engine.c
  ${TT_ENGINE_DIR}/names.c
  ${TT_ENGINE_DIR}/conn_table.c
  ${TT_ENGINE_DIR}/timewait.c
  ${TT_ENGINE_DIR}/tw_table.c
  ${TT_ENGINE_DIR}/tcb.c
  ${TT_ENGINE_DIR}/tcp_input.c
  ${TT_ENGINE_DIR}/tcp_gro.c
  ${TT_ENGINE_DIR}/tcp_tso.c
  ${TT_ENGINE_DIR}/tcp_listen.c
  ${TT_ENGINE_DIR}/tcp_ack.c
  ${TT_ENGINE_DIR}/tcp_sack.c
  ${TT_ENGINE_DIR}/tcp_recovery.c
  ${TT_ENGINE_DIR}/tcp_cc.c
  ${TT_ENGINE_DIR}/tcp_reno.c
  ${TT_ENGINE_DIR}/tcp_cubic.c
  ${TT_ENGINE_DIR}/tcp_tlp.c
  ${TT_ENGINE_DIR}/tcp_ecn.c
  ${TT_ENGINE_DIR}/tcp_rack.c
  ${TT_ENGINE_DIR}/tcp_chrono.c
  ${TT_ENGINE_DIR}/tcp_rcvmss.c
  ${TT_ENGINE_DIR}/tcp_txstamp.c
  ${TT_ENGINE_DIR}/tcp_pacing.c
  ${TT_ENGINE_DIR}/tcp_skb.c
  ${TT_ENGINE_DIR}/ring.c
  ${TT_ENGINE_DIR}/spare.c
  ${TT_ENGINE_DIR}/siphash.c
  ${TT_ENGINE_DIR}/syncookie.c
  ${TT_ENGINE_DIR}/tcp_output.c
  ${TT_ENGINE_DIR}/tcp_lowat.c
  ${TT_ENGINE_DIR}/tcp_sndmem.c
  ${TT_ENGINE_DIR}/tcp_timer.c
  ${TT_ENGINE_DIR}/tcp_keepalive.c
  ${TT_ENGINE_DIR}/tcp_localcong.c
  ${TT_ENGINE_DIR}/app.c
)
target_include_directories(tuntcp_engine
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${TT_ENGINE_DIR})
# PIC: the packetdrill adapter links the engine into a shared object, and
# the shared library below is made of the same objects.
set_target_properties(tuntcp_engine PROPERTIES POSITION_INDEPENDENT_CODE ON
  EXPORT_NAME engine_static)
if(NOT TT_FUZZ)
  # libtuntcp_engine.so.MAJOR for programs of their own (see "Installing").
  add_library(tuntcp_engine_shared SHARED $<TARGET_OBJECTS:tuntcp_engine>)
  target_include_directories(tuntcp_engine_shared PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set_target_properties(tuntcp_engine_shared PROPERTIES OUTPUT_NAME tuntcp_engine
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR} EXPORT_NAME engine)
endif()
