package sipguard

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const anOptions = "OPTIONS sip:hotline@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-conn\r\n" +
	"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:hotline@127.0.0.1>\r\n" +
	"Call-ID: conn@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

// counts records what a guard counted.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(transport, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[transport+" "+result]++
}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// guardedListener is a guarded TCP listener on a free port, closed when
// the test ends.
func guardedListener(t *testing.T, g *Guard) *listener {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := g.Listener(tl).(*listener)
	t.Cleanup(func() { l.Close() })
	return l
}

// closedByPeer reports whether the server closed c within wait.
func closedByPeer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 16))
	return err == io.EOF
}

func TestASourceHoldsABoundedNumberOfConnections(t *testing.T) {
	c := &counts{n: map[string]int{}}
	l := guardedListener(t, &Guard{Counted: c.add})
	l.max = 3
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			sc, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- sc
		}
	}()
	var clients []net.Conn
	for range 5 {
		cc, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer cc.Close()
		clients = append(clients, cc)
	}
	var held []net.Conn
	for range 3 {
		select {
		case sc := <-accepted:
			held = append(held, sc)
		case <-time.After(3 * time.Second):
			t.Fatal("the first connections were not accepted")
		}
	}
	for _, cc := range clients[3:] {
		assert.True(t, closedByPeer(cc, 3*time.Second), "the excess is closed at once")
	}
	assert.Empty(t, accepted, "the stack never sees the excess")
	assert.Eventually(t, func() bool { return c.get("tcp limited") == 2 }, 3*time.Second, 10*time.Millisecond)
	for _, cc := range clients[:3] {
		assert.False(t, closedByPeer(cc, 50*time.Millisecond), "those within the bound stay")
	}

	// A connection closed (twice, as sipgo may) makes room for one more.
	require.NoError(t, held[0].Close())
	_ = held[0].Close()
	cc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer cc.Close()
	select {
	case sc := <-accepted:
		defer sc.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("no room after a connection closed")
	}
	cc2, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer cc2.Close()
	assert.True(t, closedByPeer(cc2, 3*time.Second), "but only one")
}

func TestAnIdleConnectionIsClosedAndKeepAlivesKeepIt(t *testing.T) {
	// The idle timeout is ten times the keep-alives' spacing, so that a
	// loaded machine (make test runs with -race on two cores) that runs
	// the test's goroutines late does not end a connection kept alive.
	l := guardedListener(t, &Guard{})
	l.idle = time.Second
	cc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer cc.Close()
	sc, err := l.Accept()
	require.NoError(t, err)
	defer sc.Close()
	ended := make(chan time.Time, 1)
	var readErr error
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, readErr = sc.Read(buf); readErr != nil {
				ended <- time.Now()
				return
			}
		}
	}()
	// A keep-alive every 100 ms for twice the idle timeout: each read
	// renews the deadline, and each ping is answered.
	start := time.Now()
	pong := make([]byte, 2)
	var lastPing time.Time
	for time.Since(start) < 2*l.idle {
		lastPing = time.Now()
		_, err := cc.Write([]byte("\r\n\r\n"))
		require.NoError(t, err)
		require.NoError(t, cc.SetReadDeadline(time.Now().Add(3*time.Second)))
		_, err = io.ReadFull(cc, pong)
		require.NoError(t, err)
		assert.Equal(t, "\r\n", string(pong))
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-ended:
		t.Fatalf("closed after %v of keep-alives", time.Since(start))
	default:
	}
	// Then silence.
	select {
	case at := <-ended:
		assert.Equal(t, io.EOF, readErr, "an idle end reads as an ordinary one")
		assert.Greater(t, at.Sub(start), 2*l.idle, "kept past the idle timeout")
		assert.GreaterOrEqual(t, at.Sub(lastPing), l.idle, "ended after the idle timeout of silence")
	case <-time.After(5 * time.Second):
		t.Fatal("an idle connection stayed open")
	}
}

func TestAWriteToAPeerThatDoesNotReadEnds(t *testing.T) {
	l := guardedListener(t, &Guard{})
	l.write = 200 * time.Millisecond
	cc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer cc.Close() // never read
	sc, err := l.Accept()
	require.NoError(t, err)
	defer sc.Close()
	done := make(chan error, 1)
	go func() {
		// More than the kernel's buffers on both sides hold.
		_, err := sc.Write(make([]byte, 64<<20))
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the write is still blocked")
	}
}

// boom is a guard whose own code panics on a message containing BOOM.
func boom(c *counts) *Guard {
	return &Guard{Counted: c.add, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), inspect: func(data []byte) {
		if bytes.Contains(data, []byte("BOOM")) {
			var m map[string]int
			m["x"]++ // a nil map: what a bug in the guard would do
		}
	}}
}

func TestAPanicInTheGuardDropsTheDatagramAndTheSocketServesOn(t *testing.T) {
	c := &counts{n: map[string]int{}}
	uc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer uc.Close()
	pc := boom(c).PacketConn(uc)
	client, err := net.Dial("udp", uc.LocalAddr().String())
	require.NoError(t, err)
	defer client.Close()
	_, err = client.Write([]byte("BOOM " + anOptions))
	require.NoError(t, err)
	_, err = client.Write([]byte(anOptions))
	require.NoError(t, err)
	require.NoError(t, uc.SetReadDeadline(time.Now().Add(3*time.Second)))
	buf := make([]byte, 65536)
	n, _, err := pc.ReadFrom(buf)
	require.NoError(t, err, "ReadFrom lives on")
	assert.True(t, bytes.HasPrefix(buf[:n], []byte("OPTIONS ")), "the next datagram is read: %q", buf[:n])
	assert.Equal(t, 1, c.get("udp panic"))
}

func TestAPanicInTheGuardEndsOnlyItsConnection(t *testing.T) {
	c := &counts{n: map[string]int{}}
	l := guardedListener(t, boom(c))
	read := func(data string) ([]byte, error) {
		cc, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer cc.Close()
		_, err = cc.Write([]byte(data))
		require.NoError(t, err)
		sc, err := l.Accept()
		require.NoError(t, err)
		defer sc.Close()
		require.NoError(t, sc.SetReadDeadline(time.Now().Add(3*time.Second)))
		buf := make([]byte, 65536)
		n, err := sc.Read(buf) // in the test's goroutine: a panic would fail the test
		return buf[:n], err
	}
	_, err := read("BOOM " + anOptions)
	assert.Equal(t, io.EOF, err, "the connection ends")
	assert.Equal(t, 1, c.get("tcp panic"))
	got, err := read(anOptions)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(got, []byte("OPTIONS ")), "another connection is served: %q", got)
}

// exhausted is a listener out of file descriptors for its first fails
// accepts.
type exhausted struct {
	net.Listener
	fails int
}

func (l *exhausted) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func TestRunningOutOfDescriptorsDoesNotEndTheListener(t *testing.T) {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := (&Guard{}).Listener(&exhausted{Listener: tl, fails: 3})
	defer l.Close()
	cc, err := net.Dial("tcp", tl.Addr().String())
	require.NoError(t, err)
	defer cc.Close()
	sc, err := l.Accept()
	require.NoError(t, err, "accepted once descriptors are back")
	sc.Close()
	require.NoError(t, l.Close())
	_, err = l.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "a closed listener still ends serving")
}
