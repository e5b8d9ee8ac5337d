# vledger-bulkload: grows a log to benchmark scale (bench/bulkload.c; for
# benchmarks only, never a production log). Included from the top-level
# CMakeLists.txt; links vledger_core like vledgerd and vledger, and lands in
# ${CMAKE_BINARY_DIR}/bin next to them, where tests/integration/bulkload_test.sh
# and bench/run.sh look for it.
#
# bench/bench.cmake (the harness) defines the same target when
# bench/bulkload.c exists; whichever file is included first defines it, so
# that either can be built without the other.
if(NOT TARGET vledger-bulkload)
  add_executable(vledger-bulkload ${CMAKE_SOURCE_DIR}/bench/bulkload.c)
  target_link_libraries(vledger-bulkload PRIVATE vledger_core)
endif()
