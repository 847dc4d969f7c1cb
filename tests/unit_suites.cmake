# Run by CTest when it reads the test list (TEST_INCLUDE_FILES), with UNIT_TESTS set to the
# binary: one test per gtest suite. A process per case would pay a sanitizer start-up (about
# 0.25 s) 1 500 times, some 350 s of the suite's CPU; a suite's cases share one process instead.
execute_process(COMMAND "${UNIT_TESTS}" --gtest_list_tests
                OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 30)
if(NOT rc EQUAL 0)
  # A binary that cannot list its tests fails here, visibly, rather than running none.
  add_test(unit.list "${UNIT_TESTS}" --gtest_list_tests)
  return()
endif()
# Suite lines start at the left margin ("Suite." or "Prefix/Suite."); cases and their parameter
# dumps are indented.
string(REGEX MATCHALL "\n[A-Za-z_][A-Za-z0-9_/]*\\." suites "\n${listing}")
foreach(line IN LISTS suites)
  string(REGEX REPLACE "^\n(.*)\\.$" "\\1" suite "${line}")
  add_test(unit.${suite} "${UNIT_TESTS}" "--gtest_filter=${suite}.*")
  set_tests_properties(unit.${suite} PROPERTIES TIMEOUT 300 LABELS unit)
endforeach()
