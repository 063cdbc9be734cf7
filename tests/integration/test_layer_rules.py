"""The layering rule itself (scripts/check-layers.py): an include pointing up is caught, one pointing
down passes. The ctest "layers" runs the rule over the whole tree."""
import importlib.util
import os
import pathlib

source = pathlib.Path(os.environ.get("LOOPGATE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
spec = importlib.util.spec_from_file_location("check_layers", source / "scripts" / "check-layers.py")
layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layers)

allowed = [
    ("drivers/line/line_driver.cpp", "core/reading.hpp"),
    ("gateway/bridge/bridge.hpp", "gateway/store/store.hpp"),
    ("gateway/serial/port_session.hpp", "gateway/config.hpp"),
    ("gateway/gateway.cpp", "gateway/ops/status.hpp"),
    ("gateway/store/batch_payload.hpp", "loopgate.pb.h"),
    ("cli/simulate.cpp", "sim/fake_modbus_slave.hpp"),
    ("sim/fake_modbus_slave.cpp", "drivers/modbus_rtu/crc16.hpp"),
    ("drivers/line/line_driver.cpp", "drivers/framing/line_framer.hpp"),
    ("drivers/registry.cpp", "drivers/nmea0183/nmea_driver.hpp"),
]
refused = [
    ("core/reading.hpp", "drivers/driver.hpp", "a higher layer"),
    ("drivers/driver.hpp", "gateway/config.hpp", "a higher layer"),
    ("gateway/store/store.cpp", "cli/commands.hpp", "a higher layer"),
    ("gateway/serial/port_session.cpp", "gateway/uplink/uplink.hpp", "a later stage"),
    ("gateway/store/store.cpp", "gateway/bridge/bridge.hpp", "a later stage"),
    ("gateway/sparkplug/sparkplug_publisher.hpp", "gateway/downlink/command_check.hpp", "a later stage"),
    ("drivers/nmea0183/nmea_decode.cpp", "loopgate.pb.h", "only gateway/ and cli/ speak protobuf"),
    ("gateway/bridge/bridge.cpp", "sim/fake_modbus_slave.hpp", "only cli/ may"),
    ("sim/fake_modbus_slave.cpp", "gateway/config.hpp", "core/ and drivers/ only"),
    ("drivers/line/line_driver.cpp", "drivers/nmea0183/nmea_fields.hpp", "another driver's file"),
    ("gateway/newstage/thing.cpp", "core/log.hpp", "not in GATEWAY_STAGES"),
    ("core/log.cpp", "somewhere/else.hpp", "in no layer"),
]
failures = []
for src, target in allowed:
    if (why := layers.problem(src, target)) is not None:
        failures.append(f"{src} -> {target} should pass, got: {why}")
for src, target, expected in refused:
    why = layers.problem(src, target)
    if why is None or expected not in why:
        failures.append(f"{src} -> {target} should be refused ({expected}), got: {why}")
assert not failures, "\n".join(failures)
print(f"layer rules: {len(allowed)} allowed and {len(refused)} refused includes judged right")
