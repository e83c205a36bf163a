//go:build !linux

package slacktest

import (
	"net"
	"time"
)

// stampListener is the listener itself where the kernel's receive times are
// not read: an ack's arrival is when the fake reads it.
type stampListener struct{ net.Listener }

type stampConn struct{ net.Conn }

func (c *stampConn) receivedAt() time.Time { return time.Now() }
