// A fake sysfs tree for the netdev finder and the data link: USB devices, their ttys and netdevs
// laid out as the kernel does, plus a fake /dev.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace cellgate::net::testing {

namespace fs = std::filesystem;

// A temporary sysfs tree: USB devices under devices/, class/tty and class/net as symlinks, like
// the kernel lays them out. Also a fake /dev with the tty nodes (plain files are enough for
// realpath) and by-id links.
class FakeSysfs {
public:
    FakeSysfs() {
        char tmpl[] = "/tmp/cellgate-netsys-XXXXXX";
        if (const char* dir = ::mkdtemp(tmpl)) root_ = dir;
        fs::create_directories(root_ + "/class/net");
        fs::create_directories(root_ + "/class/tty");
        fs::create_directories(root_ + "/dev/serial/by-id");
    }
    ~FakeSysfs() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    FakeSysfs(const FakeSysfs&) = delete;
    FakeSysfs& operator=(const FakeSysfs&) = delete;

    const std::string& root() const { return root_; }
    std::string dev(const std::string& tty) const { return root_ + "/dev/" + tty; }

    std::string usb_device(const std::string& port, const char* vid, const char* pid) {
        const std::string dir = root_ + "/devices/pci0000:00/usb1/" + port;
        fs::create_directories(dir);
        write(dir + "/idVendor", vid);
        write(dir + "/idProduct", pid);
        return dir;
    }

    std::string interface(const std::string& usb, int n, const char* driver = nullptr) {
        const std::string dir = usb + "/" + fs::path(usb).filename().string() + ":1." + std::to_string(n);
        fs::create_directories(dir);
        char num[8];
        std::snprintf(num, sizeof num, "%02x", n);
        write(dir + "/bInterfaceNumber", num);
        if (driver) {
            const std::string drv = root_ + "/bus/usb/drivers/" + driver;
            fs::create_directories(drv);
            fs::create_symlink(drv, dir + "/driver");
        }
        return dir;
    }

    // usb-serial: the tty's device is a port one level below the interface.
    void usb_serial_tty(const std::string& iface, const std::string& tty) {
        fs::create_directories(iface + "/" + tty);
        tty_link(tty, iface + "/" + tty);
    }
    // cdc-acm: the tty's device is the interface itself.
    void acm_tty(const std::string& iface, const std::string& tty) { tty_link(tty, iface); }

    // A UART on the SoC: a platform device, no USB above it.
    void uart_tty(const std::string& tty) {
        const std::string dir = root_ + "/devices/platform/soc/fe201000.serial";
        fs::create_directories(dir);
        tty_link(tty, dir);
    }

    void netdev(const std::string& iface_dir, const std::string& name, int ifindex, int type,
                const char* raw_ip = nullptr) {
        const std::string dir = iface_dir + "/net/" + name;
        fs::create_directories(dir);
        write(dir + "/ifindex", std::to_string(ifindex));
        write(dir + "/type", std::to_string(type));
        if (raw_ip) {
            fs::create_directories(dir + "/qmi");
            write(dir + "/qmi/raw_ip", raw_ip);
        }
        fs::create_symlink(iface_dir, dir + "/device");
        fs::create_symlink(dir, root_ + "/class/net/" + name);
    }

    // A virtual interface (veth, tun, lo): no device link at all.
    void virtual_netdev(const std::string& name, int ifindex, int type) {
        const std::string dir = root_ + "/devices/virtual/net/" + name;
        fs::create_directories(dir);
        write(dir + "/ifindex", std::to_string(ifindex));
        write(dir + "/type", std::to_string(type));
        fs::create_symlink(dir, root_ + "/class/net/" + name);
    }

    void by_id(const std::string& link, const std::string& tty) {
        fs::create_symlink("../../" + tty, root_ + "/dev/serial/by-id/" + link);
    }

private:
    static void write(const std::string& file, const std::string& text) { std::ofstream(file) << text << "\n"; }
    void tty_link(const std::string& tty, const std::string& target) {
        const std::string cls = root_ + "/class/tty/" + tty;
        fs::create_directories(cls);
        fs::create_symlink(target, cls + "/device");
        std::ofstream(dev(tty)) << "";
    }
    std::string root_;
};

}  // namespace cellgate::net::testing
