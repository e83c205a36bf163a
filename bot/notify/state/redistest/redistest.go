// Package redistest starts a real redis-server for tests: on a free
// loopback port, in the test's temporary directory, stopped by the test.
// A test that needs Redis is skipped, saying why, only when the
// redis-server binary is absent (.ci/run installs it, so CI never skips).
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server run by a test.
type Server struct {
	// Addr is host:port, on loopback.
	Addr string
	// Password is the server's requirepass, empty for none.
	Password string

	t    testing.TB
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Options tune Start.
type Options struct {
	Password string // requirepass; empty: no password
}

// Start runs a redis-server for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server): skipping the Redis test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), Password: opts.Password}
	t.Cleanup(s.Stop)
	// A port taken since freePort chose it makes the server exit: then
	// another port is tried.
	for attempt := 0; ; attempt++ {
		s.Addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
}

// URL is the redis:// URL of the server, with its password.
func (s *Server) URL() string {
	if s.Password != "" {
		return "redis://:" + s.Password + "@" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

// Start restarts the stopped server on its address, empty: nothing is
// saved to disk, so a restart loses every key, as a Redis without
// persistence does.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("redistest: the server is already running")
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--protected-mode", "no", "--loglevel", "warning"}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	out, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("redistest: starting redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	if err := waitReady(s.Addr, s.Password, done); err != nil {
		cmd.Process.Kill()
		<-done
		log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
		return fmt.Errorf("redistest: redis-server on %s did not start: %w\n%s", s.Addr, err, log)
	}
	s.cmd, s.done = cmd, done
	return nil
}

// Stop kills the server (its keys are lost) and waits for it to exit.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Pause stops the server with SIGSTOP (connections hang, as with a
// network partition) until the returned function resumes it.
func (s *Server) Pause() (resume func()) {
	s.mu.Lock()
	p := s.cmd.Process
	s.mu.Unlock()
	p.Signal(syscall.SIGSTOP)
	return func() { p.Signal(syscall.SIGCONT) }
}

// Do sends one command, for tests that look at the server behind the
// code under test, and returns its reply: a string, an integer in decimal,
// "" for nil, an error as "ERR …", an array's elements one a line.
func (s *Server) Do(args ...string) string {
	s.t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if s.Password != "" {
		send(c, "AUTH", s.Password)
		if _, err := reply(r); err != nil {
			s.t.Fatal(err)
		}
	}
	send(c, args...)
	v, err := reply(r)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// List is Do for a command that answers an array: its elements.
func (s *Server) List(args ...string) []string {
	s.t.Helper()
	v := s.Do(args...)
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

// reply reads one RESP2 reply (see Do for its form).
func reply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply line")
	}
	switch body := line[1:]; line[0] {
	case '+', ':', '-':
		return body, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return "", err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return "", err
		}
		elems := make([]string, n)
		for i := range elems {
			if elems[i], err = reply(r); err != nil {
				return "", err
			}
		}
		return strings.Join(elems, "\n"), nil
	}
	return "", fmt.Errorf("unknown reply %q", line)
}

func send(c net.Conn, args ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.Write([]byte(b.String()))
}

// waitReady polls addr with PING until it answers PONG, the server exits
// (done closes) or 10 s pass.
func waitReady(addr, password string, done <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited")
		default:
		}
		if err := ping(addr, password); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if password != "" {
		send(c, "AUTH", password)
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
	}
	send(c, "PING")
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
