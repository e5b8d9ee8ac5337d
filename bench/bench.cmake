# The benchmark harness's programs (bench/run.sh runs them; see README
# "Benchmarks"). Built with every build, so -Werror and the sanitizer build
# keep them honest, but they are not tests.

# The load generator: libevent only (no vledger code), so it measures the
# server through its wire protocol like any other client would.
add_executable(vledger-loadgen ${CMAKE_SOURCE_DIR}/bench/loadgen.c)
target_link_libraries(vledger-loadgen PRIVATE PkgConfig::LIBEVENT)

# The bulk loader for `bench/run.sh --scale N` (bench/bulkload.c, also
# defined by bench/bulkload.cmake: whichever is included first defines it,
# so either can be built without the other). It writes the log through
# vledger's own code, hence vledger_core.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/bulkload.c AND NOT TARGET vledger-bulkload)
  add_executable(vledger-bulkload ${CMAKE_SOURCE_DIR}/bench/bulkload.c)
  target_link_libraries(vledger-bulkload PRIVATE vledger_core)
endif()
