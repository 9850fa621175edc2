# tuntcp-lab (lab/README.md): the experiment runner, a Python launcher next to
# the apps (build/apps/tuntcp-lab) using the package in lab/tuntcp_lab.
# Installed as bin/tuntcp-lab with the package in share/tuntcp/lab.
# Included from the top-level CMakeLists.txt after add_subdirectory(apps).

# The build tree's launcher uses the source tree's package.
set(TT_LAB_PKG_DIR ${PROJECT_SOURCE_DIR}/lab)
configure_file(${PROJECT_SOURCE_DIR}/lab/tuntcp-lab.in ${CMAKE_BINARY_DIR}/apps/tuntcp-lab @ONLY)

# The installed launcher finds the package relative to bin/.
set(TT_LAB_DATADIR ${CMAKE_INSTALL_DATADIR}/tuntcp/lab)
file(RELATIVE_PATH TT_LAB_PKG_DIR /p/${CMAKE_INSTALL_BINDIR} /p/${TT_LAB_DATADIR})
configure_file(${PROJECT_SOURCE_DIR}/lab/tuntcp-lab.in ${CMAKE_BINARY_DIR}/lab-install/tuntcp-lab
               @ONLY)
install(PROGRAMS ${CMAKE_BINARY_DIR}/lab-install/tuntcp-lab DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lab/tuntcp_lab DESTINATION ${TT_LAB_DATADIR}
        PATTERN __pycache__ EXCLUDE)

if(TT_TESTS)
  # Every experiment, --quick, each in its own namespace (docs/lab/README.md).
  # Like the interop tests it needs /dev/net/tun and a namespace; it fails
  # (exit 2) rather than skips when it cannot run.
  add_test(NAME lab/quick COMMAND ${CMAKE_BINARY_DIR}/apps/tuntcp-lab run all --quick
           --out ${CMAKE_BINARY_DIR}/lab-out)
  set_tests_properties(lab/quick PROPERTIES TIMEOUT 400 RUN_SERIAL TRUE)
  # Bad input: exit 2 and the list, nothing run.
  add_test(NAME lab/bad_input COMMAND /usr/bin/python3
           ${PROJECT_SOURCE_DIR}/lab/tests/test_bad_input.py ${CMAKE_BINARY_DIR}/apps/tuntcp-lab)
endif()
