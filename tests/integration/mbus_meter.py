"""M-Bus meters on the far end of a pty, answering with recorded frames: libmbus's test frames
(../shared/fieldtruth/libmbus/test-frames/NAME.hex, real meters' bytes, read at run time).

Each meter answers SND_NKE (E5h) and REQ_UD2 at its primary address, or, once selected by its
identification number (SND_UD CI 52h to FDh, wildcards F), at FDh; meters answering at once
garble each other as on a real line. A meter given several frames
answers a REQ_UD2 whose FCB differs from the last answered one with the next frame (a multi-telegram
readout); a repeat (same FCB) gets the same frame again; SND_NKE starts over at the first."""

import os
import threading
import time

FIELDTRUTH = os.path.join(os.path.dirname(os.environ.get("LOOPGATE_FIXTURES_DIR", "")), "fieldtruth", "libmbus")


def frame(name):
    with open(os.path.join(FIELDTRUTH, "test-frames", name + ".hex")) as f:
        return bytes.fromhex(f.read())


def identification(frame_bytes):
    """The 8-digit identification number of a CI 72h frame, most significant digit first."""
    return frame_bytes[7:11][::-1].hex().upper()


class Meter:
    def __init__(self, frames, address=None, secondary=False):
        self.frames = frames
        self.address = address
        self.secondary = identification(frames[0]) if secondary else None
        self.selected = False
        self.next = 0          # index of the frame the next new request gets
        self.last_fcb = None   # FCB of the last answered REQ_UD2
        self.requests = []     # (control, address) of every REQ_UD2 received

    def matches(self, address):
        return address == self.address or (address == 0xFD and self.selected)


class Bus(threading.Thread):
    """Reads the master's requests from `path` and lets the meters answer."""

    def __init__(self, path, meters):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self.meters = meters
        self.stopping = False
        self.log = []
        self.start()

    def run(self):
        buf = b""
        while not self.stopping:
            try:
                chunk = os.read(self.fd, 512)
            except OSError:
                return
            buf += chunk
            while buf:
                if buf[0] == 0x10:
                    if len(buf) < 5:
                        break
                    f, buf = buf[:5], buf[5:]
                    if f[4] == 0x16 and (f[1] + f[2]) & 0xFF == f[3]:
                        self.short(f[1], f[2])
                elif buf[0] == 0x68:
                    if len(buf) < 4:
                        break
                    total = buf[1] + 6
                    if len(buf) < total:
                        break
                    f, buf = buf[:total], buf[total:]
                    self.long(f)
                else:
                    buf = buf[1:]

    def reply(self, answers):
        """Meters answering at once superimpose on the bus: a 0 bit (current) wins, bytes AND."""
        if not answers:
            return
        data = bytearray(answers[0])
        for a in answers[1:]:
            for i in range(len(data)):
                data[i] &= a[i] if i < len(a) else 0xFF
        time.sleep(0.005)  # a meter answers after 11 bit times at least
        os.write(self.fd, bytes(data))

    def short(self, control, address):
        self.log.append(("short", control, address))
        answers = []
        for m in self.meters:
            if not m.matches(address):
                continue
            if control == 0x40:  # SND_NKE
                m.next, m.last_fcb = 0, None
                if address == 0xFD:
                    m.selected = False
                answers.append(b"\xE5")
            elif control & 0xDF == 0x5B:  # REQ_UD2
                fcb = bool(control & 0x20)
                m.requests.append((control, address))
                if m.last_fcb is not None and fcb != m.last_fcb:
                    m.next = min(m.next + 1, len(m.frames) - 1)
                m.last_fcb = fcb
                answers.append(m.frames[m.next])
        self.reply(answers)

    def long(self, f):
        self.log.append(("long", f[4], f[5], f[6]))
        if f[4] & 0xDF != 0x53 or f[5] != 0xFD or f[6] != 0x52:
            return
        wanted = f[7:11][::-1].hex().upper()
        hit = False
        for m in self.meters:
            if m.secondary is None:
                continue
            m.selected = all(w in ("F", s) for w, s in zip(wanted, m.secondary))
            hit = hit or m.selected
        if hit:
            self.reply([b"\xE5"])

    def stop(self):
        self.stopping = True
        os.close(self.fd)
