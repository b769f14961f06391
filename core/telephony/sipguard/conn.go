package sipguard

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Guard checks what the SIP sockets receive before the SIP stack reads it.
type Guard struct {
	Limits Limits
	Rate   *Rate // nil: no limit
	Log    *slog.Logger
	// Counted, when set, is told of each message kept from the stack:
	// result is limited (over its source's rate), refused (answered) or
	// dropped.
	Counted func(transport, result string)
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

func sourceIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr()
	}
	return netip.Addr{}
}

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
		if !c.g.Rate.Allow(sourceIP(addr), time.Now()) {
			c.g.count("udp", "limited", addr, Verdict{})
			continue
		}
		data := c.buf[:n]
		if len(bytes.Trim(data, "\x00\r\n")) == 0 {
			continue // a keep-alive
		}
		v, pass := Datagram(data, c.g.Limits)
		if v.Pass {
			if pass = Normalize(pass, true); len(pass) <= len(p) {
				return copy(p, pass), addr, nil
			}
		}
		if v.Status != 0 {
			c.g.count("udp", "refused", addr, v)
			_, _ = c.PacketConn.WriteTo(Reply(data, v), addr)
			continue
		}
		c.g.count("udp", "dropped", addr, v)
	}
}

// Listener guards a TCP listener: the SIP stack reads from each
// connection only whole messages that passed, one by one.
func (g *Guard) Listener(l net.Listener) net.Listener {
	g.Limits = g.Limits.withDefaults()
	return &listener{Listener: l, g: g}
}

type listener struct {
	net.Listener
	g *Guard
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &streamConn{Conn: c, g: l.g, src: sourceIP(c.RemoteAddr()), chunk: make([]byte, 4096)}, nil
}

// lingerAfterFraming is how long a connection whose stream can no longer
// be framed stays open for the answers to what came before.
const lingerAfterFraming = 2 * time.Second

type streamConn struct {
	net.Conn
	g   *Guard
	src netip.Addr

	wmu sync.Mutex // the stack's writes and ours

	// Read's state (one reader: the stack's).
	in    []byte // received, not yet framed; at most MaxMessage plus a chunk
	out   []byte // messages that passed, not yet read
	chunk []byte
	err   error // the connection is to end after out is read
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

func (c *streamConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		// What was read before an error is framed first.
		if c.frame() {
			continue
		}
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.Conn.Read(c.chunk)
		c.in = append(c.in, c.chunk[:n]...)
		if err != nil {
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
		c.out = append(c.out, Normalize(c.in[:n], false)...)
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
