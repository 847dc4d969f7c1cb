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

install(TARGETS cellgated RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
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
set(_cellgate_man_pages daemon/man/cellgated.8 daemon/man/cellgate.yaml.5)
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
# A Debian binary package carries its changelog; one entry for the version being built.
set(CELLGATE_DEB_MAINTAINER "cellgate maintainers <cellgate@localhost>" CACHE STRING
    "Maintainer field and changelog signature of the .deb")
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

# ---- CPack: cellgate_<version>-<release>_<arch>.deb ----
# cpack packages what was built and never builds itself (its "preinstall" step would otherwise
# build `all`): the package test runs cpack on the tree CTest is testing, and a relink there would
# pull the binary from under the other tests. Build first, as scripts/build-arm64 does.
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
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/cellgate/cellgate")
# Library dependencies come from dpkg-shlibdeps on the binary (for the target architecture when
# cross-building: the :arm64 libraries are registered with dpkg through multiarch).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The daemon is useless without a system bus; procps has /bin/kill, which ExecReload= runs.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "default-dbus-system-bus | dbus-system-bus, procps")
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
