# Install layout and the Debian package (CPack DEB), included from the top-level CMakeLists.txt.
#
# The binary, CA files, man pages and docs go under the prefix (CPack packages with prefix /usr).
# What systemd, udev and D-Bus only look for in fixed places is installed there, absolute, so the
# package and `DESTDIR=... cmake --install` agree with the unit, which names /usr/sbin/cellgated
# and /etc/cellgate/cellgate.yaml. Defaults are Debian bookworm's (Raspberry Pi OS) paths.

include(GNUInstallDirs)

set(CELLGATE_CONFDIR "/etc/cellgate" CACHE PATH "Where cellgate.yaml is installed (the unit reads it here)")
set(CELLGATE_UNITDIR "/lib/systemd/system" CACHE PATH "systemd system unit directory")
set(CELLGATE_SYSUSERSDIR "/usr/lib/sysusers.d" CACHE PATH "systemd-sysusers directory")
set(CELLGATE_MODULESLOADDIR "/usr/lib/modules-load.d" CACHE PATH "systemd-modules-load directory")
set(CELLGATE_UDEVRULESDIR "/lib/udev/rules.d" CACHE PATH "udev rules directory")
set(CELLGATE_DBUSPOLICYDIR "/usr/share/dbus-1/system.d" CACHE PATH "D-Bus system bus policy directory")

# cpack and `install` build nothing (see CPack below): say what to do rather than miss a file.
install(CODE "if(NOT EXISTS \"$<TARGET_FILE:cellgated>\")
  message(FATAL_ERROR \"cellgated is not built in this tree: cmake --build <build dir> --target deb builds it, then the .deb\")
endif()")
install(TARGETS cellgated RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
# A stripped install (CPack's) also drops the compilers' version strings, as dh_strip does.
install(CODE "if(CMAKE_INSTALL_DO_STRIP)
  execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment
                  \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/$<TARGET_FILE_NAME:cellgated>\"
                  COMMAND_ERROR_IS_FATAL ANY)
endif()")
install(FILES etc/cellgate.yaml DESTINATION ${CELLGATE_CONFDIR})
install(FILES etc/ca/aliyun-ca.pem etc/ca/onenet-ca.pem DESTINATION ${CMAKE_INSTALL_DATADIR}/cellgate/ca)
install(FILES systemd/cellgate.service DESTINATION ${CELLGATE_UNITDIR})
install(FILES systemd/cellgate.sysusers.conf DESTINATION ${CELLGATE_SYSUSERSDIR} RENAME cellgate.conf)
install(FILES systemd/cellgate.modules-load.conf DESTINATION ${CELLGATE_MODULESLOADDIR} RENAME cellgate.conf)
install(FILES etc/udev/rules.d/70-cellgate.rules DESTINATION ${CELLGATE_UDEVRULESDIR})
install(FILES etc/dbus-1/system.d/org.cellgate.Gateway1.conf DESTINATION ${CELLGATE_DBUSPOLICYDIR})
# The DHCP hook cellgated hands to busybox udhcpc (daemon/data_path.cpp names this path).
install(PROGRAMS net/udhcpc-hook DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cellgate)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian wants man pages compressed (gzip -n: no timestamp, so the package is reproducible).
set(_cellgate_man_pages daemon/man/cellgated.8 daemon/man/cellgate.yaml.5 ctl/cellgatectl.1)
set(_cellgate_man_gz)
foreach(page ${_cellgate_man_pages})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${name})
  set(gz ${CMAKE_BINARY_DIR}/man/${name}.gz)
  add_custom_command(OUTPUT ${gz}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
                     COMMAND sh -c "gzip -9n -c '${CMAKE_SOURCE_DIR}/${page}' > '${gz}'"
                     DEPENDS ${CMAKE_SOURCE_DIR}/${page}
                     COMMENT "Compressing ${name}"
                     VERBATIM)
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  list(APPEND _cellgate_man_gz ${gz})
endforeach()
# Maintainer field and changelog signature. Whoever builds a package to hand out names themselves,
# as for dch: -DCELLGATE_DEB_MAINTAINER="Name <address>", or DEBFULLNAME and DEBEMAIL at the first
# configure. The fallback is a placeholder in a reserved domain (lintian wants a host with a dot:
# "localhost" is an error).
if(DEFINED ENV{DEBEMAIL} AND DEFINED ENV{DEBFULLNAME})
  set(_cellgate_maintainer "$ENV{DEBFULLNAME} <$ENV{DEBEMAIL}>")
else()
  set(_cellgate_maintainer "cellgate maintainers <cellgate@example.org>")
endif()
# Build trees configured earlier cached a "localhost" default, which lintian rejects.
if(CELLGATE_DEB_MAINTAINER MATCHES "@localhost>$")
  unset(CELLGATE_DEB_MAINTAINER CACHE)
endif()
set(CELLGATE_DEB_MAINTAINER "${_cellgate_maintainer}" CACHE STRING
    "Maintainer field and changelog signature of the .deb")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/cellgate/cellgate")

# /usr/share/doc/cellgate/copyright in Debian's machine-readable format, for the license LICENSE
# holds. Debian points at its own copy of a common license (/usr/share/common-licenses) instead of
# repeating it, so the template has that pointer for the licenses it knows.
file(READ ${CMAKE_SOURCE_DIR}/LICENSE _cellgate_license)
if(_cellgate_license MATCHES "^[ \n]*Apache License[ \n]+Version 2\\.0, January 2004")
  set(CELLGATE_LICENSE Apache-2.0)
else()
  message(FATAL_ERROR "LICENSE is not the Apache License 2.0: update scripts/deb/copyright.in")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/deb/copyright.in ${CMAKE_BINARY_DIR}/copyright @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# lintian's advice that does not apply to a package built outside the Debian archive.
install(FILES ${CMAKE_CURRENT_LIST_DIR}/deb/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME cellgate)

# A Debian binary package carries its changelog; one entry for the version being built.
string(TIMESTAMP _cellgate_date "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
file(WRITE ${CMAKE_BINARY_DIR}/changelog.Debian
     "cellgate (${PROJECT_VERSION}-1) stable; urgency=medium\n\n"
     "  * Built from the cellgate source tree with CPack.\n\n"
     " -- ${CELLGATE_DEB_MAINTAINER}  ${_cellgate_date}\n")
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.Debian.gz
                   COMMAND sh -c "gzip -9n -c '${CMAKE_BINARY_DIR}/changelog.Debian' > '${CMAKE_BINARY_DIR}/changelog.Debian.gz'"
                   DEPENDS ${CMAKE_BINARY_DIR}/changelog.Debian
                   VERBATIM)
install(FILES ${CMAKE_BINARY_DIR}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
add_custom_target(cellgate_docs ALL DEPENDS ${_cellgate_man_gz} ${CMAKE_BINARY_DIR}/changelog.Debian.gz)
# Whatever builds the daemon builds these too, so `cpack` works in any tree that has a cellgated.
add_dependencies(cellgated cellgate_docs)

# ---- CPack: cellgate_<version>-<release>_<arch>.deb ----
# cpack packages what was built and never builds itself (its "preinstall" step would otherwise
# build `all`): the package test runs cpack on the tree CTest is testing, and a relink there would
# pull the binary from under the other tests. So `--target package` builds nothing either; the
# `deb` target below builds the daemon (and with it the docs), then runs cpack.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cellgate)
set(CPACK_PACKAGE_VENDOR "cellgate")
set(CPACK_PACKAGE_CONTACT "${CELLGATE_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "cellular IoT gateway daemon for USB 4G modules")
set(CPACK_PACKAGE_DESCRIPTION
    "cellgated drives a USB LTE module (Quectel, SIMCom, Luat/AirM2M, Huawei or\n\
any 3GPP module) over AT commands and keeps its data link up. It bridges a\n\
local MQTT broker to Alibaba Cloud IoT, China Mobile OneNET or any MQTT broker\n\
through a durable outbox, and publishes its state on the system D-Bus as\n\
org.cellgate.Gateway1. It runs as the unprivileged user cellgate under a\n\
hardened systemd unit, which is installed but not enabled.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps on the binary (for the target architecture when
# cross-building: the target's libraries are registered with dpkg through multiarch).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The daemon is useless without a system bus; procps has /bin/kill, which ExecReload= runs;
# the maintainer scripts call deb-systemd-helper and deb-systemd-invoke (the version debhelper asks).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "default-dbus-system-bus | dbus-system-bus, procps, init-system-helpers (>= 1.18~)")
# busybox's udhcpc takes the DHCP lease of an ECM/RNDIS module's network interface.
string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", busybox")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mosquitto")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "socat")
if(CMAKE_CROSSCOMPILING AND CELLGATE_DEB_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${CELLGATE_DEB_ARCH})
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
    ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
    ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
include(CPack)

# cmake --build <dir> --target deb: the .deb from a clean tree (scripts/package).
add_custom_target(deb COMMAND ${CMAKE_CPACK_COMMAND} --config ${CMAKE_BINARY_DIR}/CPackConfig.cmake
                  WORKING_DIRECTORY ${CMAKE_BINARY_DIR} USES_TERMINAL VERBATIM)
add_dependencies(deb cellgated cellgatectl)
