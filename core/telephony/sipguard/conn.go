package sipguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hotline12345/hotline/core/sourceaddr"
)

// Guard checks what the SIP sockets receive before the SIP stack reads it.
type Guard struct {
	Limits Limits
	Rate   *Rate // nil: no limit
	Log    *slog.Logger
	// Counted, when set, is told of each message kept from the stack:
	// result is limited (over its source's rate, or a TCP connection over
	// its source's share), refused (answered), dropped, or panic (the
	// guard's own code panicked on it: a bug, the message is dropped).
	Counted func(transport, result string)

	// inspect, when set (by tests), is called with each message before
	// the guard checks it: it lets a test make the guard's code panic.
	inspect func(data []byte)

	panicLogged atomic.Int64 // unix nanoseconds of the last panic logged
}

// recovered, deferred around the guard's own code, turns a panic into a
// dropped message. The guard runs in the SIP stack's goroutines: on UDP
// the one goroutine serving the socket, whose end would silence UDP for
// good while the server still reports ready; on TCP sipgo's per
// connection reader, which recovers nothing, so a panic would end the
// process.
func (g *Guard) recovered(transport string, src net.Addr, r any) {
	if g.Counted != nil {
		g.Counted(transport, "panic")
	}
	// One a second at most: whoever found the message can send it again
	// and again.
	now := time.Now().UnixNano()
	if last := g.panicLogged.Load(); now-last < int64(time.Second) || !g.panicLogged.CompareAndSwap(last, now) {
		return
	}
	log := g.Log
	if log == nil {
		log = slog.Default()
	}
	log.Error("recovered from a panic in the SIP guard; the message is dropped", "transport", transport, "source", src, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

func (g *Guard) count(transport, result string, src net.Addr, v Verdict) {
	if g.Counted != nil {
		g.Counted(transport, result)
	}
	if g.Log != nil && result != "limited" {
		// Debug only: a flood of bad messages must not flood the log.
		g.Log.Debug("a SIP message kept from the stack", "transport", transport, "source", src, "result", result, "status", v.Status, "why", v.Why)
	}
}

// sourceAddrPort is a socket's peer address, unmapped and without a
// zone; invalid when a is of no kind the guard knows.
func sourceAddrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.UDPAddr:
		ap = a.AddrPort()
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		if a == nil {
			return netip.AddrPort{}
		}
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

func sourceIP(a net.Addr) netip.Addr { return sourceAddrPort(a).Addr() }

// PacketConn guards a UDP socket: the SIP stack reads only datagrams
// that passed; malformed requests are answered from here.
func (g *Guard) PacketConn(c net.PacketConn) net.PacketConn {
	g.Limits = g.Limits.withDefaults()
	return &packetConn{PacketConn: c, g: g, buf: make([]byte, g.Limits.MaxMessage+1)}
}

type packetConn struct {
	net.PacketConn
	g   *Guard
	mu  sync.Mutex // buf
	buf []byte
}

func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		// A datagram longer than buf is cut by the kernel to MaxMessage+1
		// bytes: nothing beyond the bound is ever held.
		n, addr, err := c.PacketConn.ReadFrom(c.buf)
		if err != nil {
			return 0, addr, err
		}
		if n, ok := c.check(c.buf[:n], addr, p); ok {
			return n, addr, nil
		}
	}
}

// check checks a datagram and copies what the stack is to read into p,
// reporting whether there is any; a panic drops the datagram.
func (c *packetConn) check(data []byte, addr net.Addr, p []byte) (n int, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.g.recovered("udp", addr, r)
			n, ok = 0, false
		}
	}()
	if c.g.inspect != nil {
		c.g.inspect(data)
	}
	if !c.g.Rate.Allow(sourceIP(addr), time.Now()) {
		c.g.count("udp", "limited", addr, Verdict{})
		return 0, false
	}
	if len(bytes.Trim(data, "\x00\r\n")) == 0 {
		return 0, false // a keep-alive
	}
	v, pass := Datagram(data, c.g.Limits)
	if v.Pass {
		if pass = Normalize(pass, true, sourceAddrPort(addr)); len(pass) <= len(p) {
			return copy(p, pass), true
		}
	}
	if v.Status != 0 {
		c.g.count("udp", "refused", addr, v)
		_, _ = c.PacketConn.WriteTo(Reply(data, v), addr)
		return 0, false
	}
	c.g.count("udp", "dropped", addr, v)
	return 0, false
}

// Listener guards a TCP listener: the SIP stack reads from each
// connection only whole messages that passed, one by one. A source may
// hold maxConnsPerSource connections at once; a connection idle for
// idleTimeout is closed, and a write that cannot go out in writeTimeout
// fails.
func (g *Guard) Listener(l net.Listener) net.Listener {
	g.Limits = g.Limits.withDefaults()
	return &listener{Listener: l, g: g, max: maxConnsPerSource, idle: idleTimeout, write: writeTimeout, conns: map[netip.Prefix]int{}}
}

const (
	// maxConnsPerSource bounds the TCP connections one source (an IPv4
	// address or an IPv6 /64) holds at once: each costs the stack a
	// goroutine and buffers. A phone keeps one, a trunk or an office's NAT
	// a few; 64 leaves room for a busy NAT and stops a single host from
	// taking the file descriptors of the process.
	maxConnsPerSource = 64
	// idleTimeout closes a connection nothing arrives on: phones that keep
	// their registration on TCP send a CRLF keep-alive every 30 s to a few
	// minutes (RFC 5626 suggests 95-120 s), so 10 minutes cuts only the
	// dead and those holding connections open for nothing.
	idleTimeout = 10 * time.Minute
	// writeTimeout bounds each write on a connection: a peer that stops
	// reading must not hold the stack's or the guard's writer for good.
	writeTimeout = 5 * time.Second
)

type listener struct {
	net.Listener
	g           *Guard
	max         int
	idle, write time.Duration

	mu    sync.Mutex
	conns map[netip.Prefix]int // open connections by source
}

// acceptRetry is the longest wait before Accept tries again after a
// failure that passes (see Accept).
const acceptRetry = time.Second

func (l *listener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil && acceptAgain(err) {
			// sipgo stops serving TCP on any error Accept returns: out of
			// file descriptors (many sources each holding their share of
			// connections) would end SIP over TCP for good. Wait and try
			// again, as net/http does.
			wait = min(max(2*wait, 5*time.Millisecond), acceptRetry)
			if l.g.Log != nil {
				l.g.Log.Warn("accepting a SIP connection failed; trying again", "err", err, "in", wait)
			}
			time.Sleep(wait)
			continue
		}
		if err != nil {
			return nil, err
		}
		wait = 0
		peer := sourceAddrPort(c.RemoteAddr())
		key := sourceaddr.Key(peer.Addr())
		l.mu.Lock()
		over := l.conns[key] >= l.max
		if !over {
			l.conns[key]++
		}
		l.mu.Unlock()
		if over {
			// Closed before the stack sees it: no goroutine, no buffer.
			_ = c.Close()
			l.g.count("tcp", "limited", c.RemoteAddr(), Verdict{})
			continue
		}
		sc := &streamConn{Conn: c, g: l.g, src: peer.Addr(), peer: peer, idle: l.idle, write: l.write, chunk: make([]byte, 4096)}
		sc.release = func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.conns[key]--; l.conns[key] <= 0 {
				delete(l.conns, key)
			}
		}
		return sc, nil
	}
}

// acceptAgain reports whether an Accept that failed with err may succeed
// later: the process or system is out of descriptors or buffers for now,
// or a client gave up before it was accepted.
func acceptAgain(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// lingerAfterFraming is how long a connection whose stream can no longer
// be framed stays open for the answers to what came before.
const lingerAfterFraming = 2 * time.Second

type streamConn struct {
	net.Conn
	g           *Guard
	src         netip.Addr
	peer        netip.AddrPort
	idle, write time.Duration
	release     func() // gives the source's connection back
	closeOnce   sync.Once

	wmu sync.Mutex // the stack's writes and ours

	// Read's state (one reader: the stack's).
	in    []byte // received, not yet framed; at most MaxMessage plus a chunk
	out   []byte // messages that passed, not yet read
	chunk []byte
	err   error // the connection is to end after out is read
}

func (c *streamConn) Close() error {
	c.closeOnce.Do(func() {
		if c.release != nil {
			c.release()
		}
	})
	return c.Conn.Close()
}

// Write bounds each write, the stack's and the guard's own answers
// (keep-alive pongs, refusals) alike, by the write timeout: set here,
// under the lock, so that no write runs under another's deadline.
func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.write > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.write)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

func (c *streamConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		// What was read before an error is framed first.
		if c.safeFrame() {
			continue
		}
		if c.err != nil {
			return 0, c.err
		}
		// Each read renews the idle deadline: a keep-alive keeps the
		// connection, silence ends it.
		if c.idle > 0 {
			if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
				return 0, err
			}
		}
		n, err := c.Conn.Read(c.chunk)
		c.in = append(c.in, c.chunk[:n]...)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Idle: an ordinary end, which sipgo logs as such (it logs
			// any other read error as an error).
			c.err = io.EOF
		case err != nil:
			c.err = err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = nil
	}
	return n, nil
}

// safeFrame is frame, a panic in which drops what was received and not
// yet framed and ends the connection: where the next message starts is
// no longer known. The stack still reads what passed before.
func (c *streamConn) safeFrame() (did bool) {
	defer func() {
		if r := recover(); r != nil {
			c.g.recovered("tcp", c.RemoteAddr(), r)
			c.in = nil
			c.err = io.EOF
			did = true
		}
	}()
	return c.frame()
}

// frame takes the next message off c.in and reports whether it did
// anything (false: more must be read).
func (c *streamConn) frame() bool {
	// RFC 5626 3.5.1: a double CRLF between messages is a ping, answered
	// with a single one; a lone CRLF is a pong or a blank line to skip.
	switch {
	case bytes.HasPrefix(c.in, []byte("\r\n\r\n")):
		c.consume(4)
		if _, err := c.Write([]byte("\r\n")); err != nil {
			c.err = err
		}
		return true
	case bytes.HasPrefix(c.in, []byte("\r\n")) && len(c.in) >= 4:
		c.consume(2)
		return true
	case len(c.in) < 4 && len(bytes.Trim(c.in, "\r\n")) == 0:
		return false
	}
	if c.g.inspect != nil {
		c.g.inspect(c.in)
	}
	v, n := Stream(c.in, c.g.Limits)
	if v.More {
		return false
	}
	if n == 0 {
		// No boundary to find the next message by: answer and hang up.
		if v.Status != 0 {
			c.g.count("tcp", "refused", c.RemoteAddr(), v)
			_, _ = c.Write(Reply(c.in, v))
		} else {
			c.g.count("tcp", "dropped", c.RemoteAddr(), v)
		}
		// The stack learns of the end only after a while: responses to
		// the messages before this one are still to be written.
		c.in = nil
		time.Sleep(lingerAfterFraming)
		c.err = io.EOF
		return true
	}
	switch {
	case !c.g.Rate.Allow(c.src, time.Now()):
		c.g.count("tcp", "limited", c.RemoteAddr(), v)
	case v.Pass:
		c.out = append(c.out, Normalize(c.in[:n], false, c.peer)...)
	case v.Status != 0:
		c.g.count("tcp", "refused", c.RemoteAddr(), v)
		_, _ = c.Write(Reply(c.in[:n], v))
	default:
		c.g.count("tcp", "dropped", c.RemoteAddr(), v)
	}
	c.consume(n)
	return true
}

func (c *streamConn) consume(n int) {
	c.in = append(c.in[:0], c.in[n:]...)
}
