package slacktest

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestStampConnKernelTime: a read reports when the bytes reached the socket,
// not when they were read; deadlines and EOF work as on any TCP conn.
func TestStampConnKernelTime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := stampListener{ln}
	defer sl.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(*stampConn)
	if !ok {
		t.Fatalf("accepted a %T, want *stampConn", c)
	}

	// Linux turns receive stamps on for the whole machine a moment after
	// the first socket asks (a deferred static key); until then a read is
	// stamped when it happens. Wait for that, as the fake Slack does not.
	buf := make([]byte, 16)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := client.Write([]byte("w")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := sc.Read(buf); err != nil {
			t.Fatal(err)
		}
		if time.Since(sc.receivedAt()) > 10*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Skip("the kernel does not stamp received packets here")
		}
	}

	before := time.Now()
	if _, err := client.Write([]byte("ack")); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	// Read well after the bytes arrived, as a busy reader would.
	time.Sleep(50 * time.Millisecond)
	n, err := sc.Read(buf)
	if err != nil || string(buf[:n]) != "ack" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	read := time.Now()
	at := sc.receivedAt()
	const slack = time.Millisecond // kernel and Go read the same clock; allow rounding
	if at.Before(before.Add(-slack)) || at.After(sent.Add(slack)) {
		t.Errorf("received at %v, want between %v and %v (the write), not %v (the read)",
			at.Format(time.StampMicro), before.Format(time.StampMicro), sent.Format(time.StampMicro), read.Format(time.StampMicro))
	}

	if err := sc.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("read past the deadline: %T is not a net.Error timeout", err)
	}
	_ = sc.SetReadDeadline(time.Time{})
	client.Close()
	if _, err := sc.Read(buf); err != io.EOF {
		t.Errorf("read after the peer closed: %v, want io.EOF", err)
	}
}
