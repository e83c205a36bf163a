package slacktest

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// stampListener accepts connections that know when the kernel received the
// bytes they read (SO_TIMESTAMPNS), so that an ack's latency is measured to
// its arrival, as Slack's servers would see it, and not to the moment this
// process got round to reading it: on a loaded 2-core machine the fake's
// reader can lag the wire by milliseconds.
type stampListener struct{ net.Listener }

func (l stampListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c, nil // plain reads: received times are read times
	}
	return &stampConn{TCPConn: tc, rc: rc, oob: make([]byte, syscall.CmsgSpace(16))}, nil
}

// stampConn reads with recvmsg and keeps the kernel's receive time of the
// last segment each read consumed. Reads must not run concurrently (as with
// any net.Conn reader that frames a stream).
type stampConn struct {
	*net.TCPConn
	rc   syscall.RawConn
	oob  []byte
	last atomic.Int64 // unix ns; 0 before the first stamped read
}

func (c *stampConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return rerr != syscall.EAGAIN
	})
	if err != nil { // deadline or closed, already a *net.OpError
		return 0, err
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: os.NewSyscallError("recvmsg", rerr)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	if ns, ok := rxTime(c.oob[:oobn]); ok {
		c.last.Store(ns)
	}
	return n, nil
}

// receivedAt is when the kernel received the last bytes read so far: for a
// frame just read whole, its arrival or a little after (a read that took
// several frames carries the last one's time), never before. Right after
// the first socket of the machine asks for stamps, Linux stamps packets
// when they are read, for a moment: later still, never earlier.
func (c *stampConn) receivedAt() time.Time {
	if ns := c.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Now()
}

// rxTime finds the SCM_TIMESTAMPNS control message in oob.
func rxTime(oob []byte) (int64, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_TIMESTAMPNS {
			continue
		}
		switch len(m.Data) {
		case 16: // struct timespec on 64-bit
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return sec*1e9 + nsec, true
		case 8:
			sec := int64(int32(binary.NativeEndian.Uint32(m.Data[0:4])))
			nsec := int64(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
			return sec*1e9 + nsec, true
		}
	}
	return 0, false
}
