"""The module's AT port: a pty whose slave is reached through a symlink, like /dev/serial/by-id.

The slave fd stays open in the simulator so bytes written before the daemon opens the port are kept
(a real module buffers its boot URCs the same way from the host's point of view). Closing the port
closes both ends, so a daemon holding the slave sees POLLHUP/EOF/EIO, as when USB re-enumerates.
"""
import errno
import os
import tty

MAX_PENDING = 256 * 1024  # a daemon that stops reading must not make the simulator grow forever


class PtyLink:
    def __init__(self, loop, link, on_input):
        self.loop, self.link, self.on_input = loop, os.path.abspath(link), on_input
        self.master = self.slave = None
        self.pending = bytearray()

    @property
    def is_open(self):
        return self.master is not None

    def open(self):
        if self.is_open:
            return
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        tmp = self.link + ".new"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)  # atomic: a daemon never sees a half-made link
        self.loop.readers[self.master] = self._readable

    def close(self):
        if not self.is_open:
            return
        self.loop.readers.pop(self.master, None)
        self.loop.writers.pop(self.master, None)
        self.remove_link()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self.master = self.slave = None
        self.pending.clear()

    def remove_link(self):
        try:
            if os.path.islink(self.link):
                os.unlink(self.link)
        except OSError:
            pass

    def write(self, data):
        if not self.is_open:
            return
        if len(self.pending) + len(data) > MAX_PENDING:
            return
        self.pending += data
        self._flush()

    def _flush(self):
        while self.pending and self.is_open:
            try:
                n = os.write(self.master, self.pending)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.EIO, errno.EAGAIN):
                    break
                raise
            del self.pending[:n]
        if self.is_open:
            if self.pending:
                self.loop.writers[self.master] = self._flush
            else:
                self.loop.writers.pop(self.master, None)

    def _readable(self):
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.on_input(data)
