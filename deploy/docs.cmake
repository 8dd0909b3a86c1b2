# deploy/docs.cmake — the man pages (deploy/man/*.scd, rendered by scdoc at build time into
# ${CMAKE_BINARY_DIR}/man/NAME.SECTION) and the bash completion of xfctl, both installed.
# Included from the top-level CMakeLists.txt. tests/integration/test_docs.sh checks the result.
#
# The same file is also the render step, run as a script by the build (and by test_docs.sh
# when no build rendered the pages):
#   cmake -DSCDOC=/usr/bin/scdoc -DSRC=page.scd -DDST=page.N -P deploy/docs.cmake
# It writes DST only when scdoc succeeds (never a half page), and turns hyphenation off and
# adjusts left, so that paths, options and key names are never split at a line end.

if(CMAKE_SCRIPT_MODE_FILE)   # cmake -P: render one page
  foreach(v SCDOC SRC DST)
    if(NOT DEFINED ${v})
      message(FATAL_ERROR "docs.cmake: -D${v}=… is required")
    endif()
  endforeach()
  execute_process(COMMAND ${SCDOC} INPUT_FILE ${SRC} OUTPUT_VARIABLE roff
                  ERROR_VARIABLE why RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    get_filename_component(name ${SRC} NAME)
    message(FATAL_ERROR "scdoc ${name}: ${why}")
  endif()
  # right after .TH: no hyphenation, ragged right (scdoc has no syntax for either)
  string(REGEX REPLACE "(\n\\.TH [^\n]*\n)" "\\1.nh\n.ad l\n" roff "${roff}")
  file(WRITE ${DST}.tmp "${roff}")
  file(RENAME ${DST}.tmp ${DST})
  return()
endif()

include_guard(GLOBAL)   # included by the top-level CMakeLists.txt or by deploy/package.cmake
include(GNUInstallDirs)

find_program(SCDOC scdoc)
if(NOT SCDOC)
  message(FATAL_ERROR "xfsync needs scdoc to build its man pages. Install the Debian package: "
                      "apt-get install scdoc   (or run deploy/bootstrap.sh)")
endif()

set(XF_MAN_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/man/xfctl.1.scd
    ${CMAKE_CURRENT_LIST_DIR}/man/xfsyncd.conf.5.scd
    ${CMAKE_CURRENT_LIST_DIR}/man/xfsyncd.8.scd)
set(XF_MAN_DIR ${CMAKE_BINARY_DIR}/man)
file(MAKE_DIRECTORY ${XF_MAN_DIR})

set(XF_MAN_PAGES)
foreach(src ${XF_MAN_SOURCES})
  get_filename_component(page ${src} NAME)
  string(REGEX REPLACE "\\.scd$" "" page ${page})          # xfsyncd.conf.5
  string(REGEX MATCH "[1-9]$" section ${page})              # 5
  set(out ${XF_MAN_DIR}/${page})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DSCDOC=${SCDOC} -DSRC=${src} -DDST=${out}
            -P ${CMAKE_CURRENT_LIST_DIR}/docs.cmake
    DEPENDS ${src} ${CMAKE_CURRENT_LIST_DIR}/docs.cmake
    COMMENT "scdoc ${page}"
    VERBATIM)
  # installed compressed, as Debian's policy asks (gzip -n: no name or time, reproducible)
  add_custom_command(
    OUTPUT ${out}.gz
    COMMAND sh -c "gzip -9n < \"$1\" > \"$1.gz\"" sh ${out}
    DEPENDS ${out}
    COMMENT "gzip ${page}"
    VERBATIM)
  list(APPEND XF_MAN_PAGES ${out} ${out}.gz)
  install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${XF_MAN_PAGES})

# The completion is a plain file: it installs whether or not bash-completion is here, and
# bash-completion loads it on demand from this directory (pkg-config bash-completion
# completionsdir is the same directory under /usr).
install(FILES ${CMAKE_CURRENT_LIST_DIR}/completion/xfctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
if(NOT EXISTS /usr/share/bash-completion/bash_completion)
  message(STATUS "bash-completion is not installed: xfctl's completion is installed but not "
                 "loaded, and test_docs skips its completion checks "
                 "(apt-get install bash-completion)")
endif()
