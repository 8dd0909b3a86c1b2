# package.cmake — what `cmake --install` puts where, and the Debian package CPack makes of it
# (`cpack -G DEB` in a Release build tree: xfsync_<version>_amd64.deb). Included by the
# top-level CMakeLists.txt after the targets xfsyncd and xfctl. CPack packs the whole install
# tree, so whatever else install()s (deploy/docs.cmake: man pages, bash completion) is in the
# package too. tests/package/test_deb.sh builds it and installs it on a clean Debian 12.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(XF_DEPLOY_DIR ${CMAKE_CURRENT_LIST_DIR})

# The system places. Under the prefix /usr (the package) the unit goes to /lib/systemd/system
# and names /usr/sbin/xfsyncd, as deploy/systemd/xfsyncd.service says; under another prefix
# (cmake --install with /usr/local) the unit and sysusers.d file go below that prefix, where
# systemd also looks, and the unit names that prefix's xfsyncd. /etc/xfsync is the daemon's
# default configuration directory whatever the prefix.
set(XF_UNIT_DIR /lib/systemd/system CACHE PATH "where xfsyncd.service goes under the prefix /usr")
set(XF_SYSUSERS_DIR /usr/lib/sysusers.d CACHE PATH "where the sysusers.d file goes under the prefix /usr")
set(XF_CONF_DIR /etc/xfsync CACHE PATH "the configuration directory (xfsyncd.conf, keys)")

install(TARGETS xfsyncd DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS xfctl DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB XF_EXAMPLE_CONFIGS ${PROJECT_SOURCE_DIR}/config/*.conf)
install(FILES ${XF_EXAMPLE_CONFIGS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Decided at install time, when the prefix is known (CPack stages under DESTDIR with /usr).
# The default configuration is the county example, whose paths are the unit's directories; it
# is a conffile of the package (deploy/debian/conffiles: dpkg keeps an operator's edits), and
# `cmake --install` never overwrites an existing one.
set(XF_INSTALL_SCRIPT [=[
# written by deploy/package.cmake, run by cmake --install and cpack
set(xf_prefix "${CMAKE_INSTALL_PREFIX}")
if(xf_prefix STREQUAL "/usr")
  set(xf_unit_dir "@XF_UNIT_DIR@")
  set(xf_sysusers_dir "@XF_SYSUSERS_DIR@")
else()
  set(xf_unit_dir "${xf_prefix}/lib/systemd/system")
  set(xf_sysusers_dir "${xf_prefix}/lib/sysusers.d")
endif()
file(READ "@XF_DEPLOY_DIR@/systemd/xfsyncd.service" xf_unit)
string(REPLACE "/usr/sbin/xfsyncd" "${xf_prefix}/@CMAKE_INSTALL_SBINDIR@/xfsyncd" xf_unit "${xf_unit}")
file(WRITE "@CMAKE_CURRENT_BINARY_DIR@/xfsyncd.service" "${xf_unit}")
file(INSTALL DESTINATION "${xf_unit_dir}" TYPE FILE FILES "@CMAKE_CURRENT_BINARY_DIR@/xfsyncd.service")
file(INSTALL DESTINATION "${xf_sysusers_dir}" TYPE FILE RENAME xfsync.conf
     FILES "@XF_DEPLOY_DIR@/systemd/xfsync.sysusers")
if(EXISTS "$ENV{DESTDIR}@XF_CONF_DIR@/xfsyncd.conf")
  message(STATUS "Keeping: $ENV{DESTDIR}@XF_CONF_DIR@/xfsyncd.conf (it exists; the example is "
                 "${xf_prefix}/@CMAKE_INSTALL_DOCDIR@/examples/411324-zhenping.conf)")
else()
  file(INSTALL DESTINATION "@XF_CONF_DIR@" TYPE FILE RENAME xfsyncd.conf
       FILES "@PROJECT_SOURCE_DIR@/config/411324-zhenping.conf")
endif()
]=])
string(CONFIGURE "${XF_INSTALL_SCRIPT}" XF_INSTALL_SCRIPT @ONLY)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/xf_install.cmake.new "${XF_INSTALL_SCRIPT}")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/xf_install.cmake.new
               ${CMAKE_CURRENT_BINARY_DIR}/xf_install.cmake COPYONLY)
install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/xf_install.cmake)

# The man pages and the bash completion (deploy/docs.cmake), unless the top-level
# CMakeLists.txt includes that file itself; packed with the rest when it exists.
if(EXISTS ${XF_DEPLOY_DIR}/docs.cmake)
  file(STRINGS ${PROJECT_SOURCE_DIR}/CMakeLists.txt XF_DOCS_INCLUDED REGEX "^[ \t]*include[ \t]*\\(.*docs\\.cmake")
  if(NOT XF_DOCS_INCLUDED)
    include(${XF_DEPLOY_DIR}/docs.cmake)
  endif()
endif()

# Debian wants the changelog of the package in its doc directory, compressed reproducibly
# (changelog.gz: a version without a Debian revision is a native package).
set(XF_DEB_CHANGELOG ${CMAKE_CURRENT_BINARY_DIR}/changelog)
string(TIMESTAMP XF_CHANGELOG_DATE "%a, %d %b %Y 00:00:00 +0000" UTC)
set(XF_PACKAGE_MAINTAINER
    "xfsync maintainers <maintainers@users.noreply.h-seed-ca3616d9.example>"
    CACHE STRING "the Maintainer: line of the Debian package")
file(WRITE ${XF_DEB_CHANGELOG}.new
     "xfsync (${PROJECT_VERSION}) unstable; urgency=medium\n\n  * Release ${PROJECT_VERSION}.\n\n -- ${XF_PACKAGE_MAINTAINER}  ${XF_CHANGELOG_DATE}\n")
configure_file(${XF_DEB_CHANGELOG}.new ${XF_DEB_CHANGELOG} COPYONLY)   # touched only when changed
if(${XF_DEB_CHANGELOG} IS_NEWER_THAN ${XF_DEB_CHANGELOG}.gz)
  execute_process(COMMAND gzip -9nc ${XF_DEB_CHANGELOG} OUTPUT_FILE ${XF_DEB_CHANGELOG}.gz
                  RESULT_VARIABLE XF_GZIP_RC)
  if(NOT XF_GZIP_RC EQUAL 0)
    message(FATAL_ERROR "gzip ${XF_DEB_CHANGELOG}: ${XF_GZIP_RC}")
  endif()
endif()
install(FILES ${XF_DEB_CHANGELOG}.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# adduser is the fallback where there is no systemd-sysusers, and Depends says so as an
# alternative, which lintian does not follow.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/lintian-overrides.new
     "# postinst uses adduser only without systemd-sysusers: Depends: systemd-sysusers | adduser\n"
     "xfsync: maintainer-script-needs-depends-on-adduser adduser *\n")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/lintian-overrides.new
               ${CMAKE_CURRENT_BINARY_DIR}/lintian-overrides/xfsync COPYONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lintian-overrides/xfsync
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides)

# --- the Debian package ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME xfsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${XF_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "petition case books and links between offices (xfsyncd, xfctl)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "\
xfsync keeps the petition case books of an office and moves cases between the\n\
offices of a province, city and county tree over encrypted, exactly-once links,\n\
with the legal deadlines, a complete history and the monthly and quarterly\n\
figures. xfsyncd is the node daemon (one per office, a systemd service); xfctl\n\
is the operator's command.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # xfsync_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${XF_PACKAGE_MAINTAINER}")
# Depends from the libraries the binaries link (dpkg-shlibdeps: libzmq5, libprotobuf-c1,
# liblmdb0, libssl3, libinih1, libjansson4, libsystemd0, libc6).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# the postinst makes the user with systemd-sysusers, or adduser where there is no systemd;
# the unit's ExecReload is /bin/kill (procps, as for ssh.service)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd-sysusers | adduser, procps")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${XF_DEPLOY_DIR}/debian/conffiles ${XF_DEPLOY_DIR}/debian/postinst
    ${XF_DEPLOY_DIR}/debian/prerm ${XF_DEPLOY_DIR}/debian/postrm)
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/" "/run/" "/\\\\.git/")
include(CPack)
