# Every test is a ctest target: unit tests (C, one per module, under the
# sanitizers when VLEDGER_SANITIZE is on), integration tests (shell scripts
# that start a real PostgreSQL and the daemon) and end-to-end tests (real
# Connect clients from npm and `buf curl`).

# Test-only protos (every field kind for the codec tests).
file(GLOB TEST_PROTOS CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/tests/unit ${CMAKE_SOURCE_DIR}/tests/unit/*.proto)
protoc_c(TEST_GEN_SRCS ${CMAKE_SOURCE_DIR}/tests/unit ${TEST_PROTOS})
set(TEST_DESCRIPTOR_SET ${CMAKE_BINARY_DIR}/test.binpb)
add_custom_command(
  OUTPUT ${TEST_DESCRIPTOR_SET}
  COMMAND ${PROTOC} -I${CMAKE_SOURCE_DIR}/tests/unit -I${PROTOBUF_WKT_DIR} --include_imports
          --descriptor_set_out=${TEST_DESCRIPTOR_SET} ${TEST_PROTOS}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/unit
  DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/codec_test.proto)
add_custom_command(
  OUTPUT ${GEN}/test_descriptor_set.c
  COMMAND ${CMAKE_COMMAND} -DIN=${TEST_DESCRIPTOR_SET} -DOUT=${GEN}/test_descriptor_set.c
          -DNAME=test_descriptor_set -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${TEST_DESCRIPTOR_SET})
set_source_files_properties(${TEST_GEN_SRCS} ${GEN}/test_descriptor_set.c
  PROPERTIES COMPILE_OPTIONS "-Wno-error;-Wno-unused-parameter")
add_library(vledger_test_support STATIC ${TEST_GEN_SRCS} ${GEN}/test_descriptor_set.c)
target_link_libraries(vledger_test_support PUBLIC vledger_core)

file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*_test.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(${name} PRIVATE vledger_test_support)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()

# Integration and e2e scripts find the binaries and the descriptor set here.
set(TEST_ENV "VLEDGER_BIN=${CMAKE_BINARY_DIR}/bin;VLEDGER_DESCRIPTOR_SET=${DESCRIPTOR_SET};VLEDGER_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
file(GLOB INTEGRATION_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/*_test.sh)
foreach(script ${INTEGRATION_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME integration/${name} COMMAND bash ${script})
  set_tests_properties(integration/${name} PROPERTIES LABELS integration TIMEOUT 300 ENVIRONMENT "${TEST_ENV}")
  # Fault and load tests assert timings and memory: they run alone, not
  # beside others (scripts/test.sh runs the rest two at a time).
  if(name MATCHES "^(durability_|bench_smoke|connections)")
    set_tests_properties(integration/${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endforeach()
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/e2e/run.sh)
  add_test(NAME e2e/connect_clients COMMAND bash ${CMAKE_SOURCE_DIR}/tests/e2e/run.sh)
  set_tests_properties(e2e/connect_clients PROPERTIES LABELS e2e TIMEOUT 600 ENVIRONMENT "${TEST_ENV}")
endif()

# store integration driver
# tests/integration/store_test.c is not a ctest test itself: store_test.sh
# starts a throwaway PostgreSQL and runs it from ${CMAKE_BINARY_DIR}/tests.
# The target has its own name so that it cannot clash with a unit test
# called store_test.
add_executable(store_integration_driver ${CMAKE_SOURCE_DIR}/tests/integration/store_test.c)
target_link_libraries(store_integration_driver PRIVATE vledger_core)
set_target_properties(store_integration_driver PROPERTIES
  OUTPUT_NAME store_test
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# end store integration driver

# note interop driver
# tests/integration/note_driver.c is vledger's signed-note code as a command
# for note_interop_test.sh, which checks it against Go's
# golang.org/x/mod/sumdb/note (tests/interop/notecheck) both ways.
add_executable(note_integration_driver ${CMAKE_SOURCE_DIR}/tests/integration/note_driver.c)
target_link_libraries(note_integration_driver PRIVATE vledger_core)
set_target_properties(note_integration_driver PROPERTIES
  OUTPUT_NAME note_driver
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# end note interop driver
