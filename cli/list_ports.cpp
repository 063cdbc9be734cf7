#include <libserialport.h>

#include <cstdio>

#include "cli/commands.hpp"

namespace loopgate::commands {

const char* const list_ports_usage =
    "usage: loopgate list-ports\n"
    "\n"
    "Lists the serial ports libserialport finds: path, transport, USB VID:PID, serial number and\n"
    "description. Use a stable /dev/serial/by-id/ path in a port's path: setting.\n"
    "\n"
    "options: none\n";

int list_ports(const Args& args) {
    allow_only(args, {}, {});
    sp_port** ports = nullptr;
    if (sp_list_ports(&ports) != SP_OK) {
        std::fprintf(stderr, "loopgate list-ports: cannot enumerate serial ports\n");
        return 1;
    }
    std::printf("%-24s %-10s %-9s %-20s %s\n", "PATH", "TRANSPORT", "VID:PID", "SERIAL", "DESCRIPTION");
    int count = 0;
    for (sp_port** p = ports; *p; ++p, ++count) {
        const char* name = sp_get_port_name(*p);
        const char* description = sp_get_port_description(*p);
        sp_transport transport = sp_get_port_transport(*p);
        char vidpid[16] = "-";
        const char* serial = nullptr;
        if (transport == SP_TRANSPORT_USB) {
            int vid = 0, pid = 0;
            if (sp_get_port_usb_vid_pid(*p, &vid, &pid) == SP_OK) std::snprintf(vidpid, sizeof vidpid, "%04x:%04x", vid, pid);
            serial = sp_get_port_usb_serial(*p);
        }
        const char* kind = transport == SP_TRANSPORT_USB ? "usb" : transport == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native";
        std::printf("%-24s %-10s %-9s %-20s %s\n", name ? name : "?", kind, vidpid, serial ? serial : "-",
                    description ? description : "");
    }
    sp_free_port_list(ports);
    if (count == 0) std::printf("(no serial ports found)\n");
    return 0;
}

}  // namespace loopgate::commands
